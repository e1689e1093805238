package preview

import (
	"context"
	"errors"
	"fmt"

	"github.com/medbox-jp/medbox/internal/box"
)

const (
	posterSize = 1280    // longest edge of a video poster frame
	maxJPEG    = 8 << 20 // what a tool may write
)

// demuxers name ffmpeg's demuxer for each video type, so that ffmpeg never
// guesses a format from content (an HLS playlist or a concat script could make
// it open other files or the network).
var demuxers = map[string]string{"video/mp4": "mov", "video/quicktime": "mov", "video/webm": "matroska"}

// makeVideo makes a poster frame and its thumbnail with ffmpeg. The video itself
// is the preview (the browser plays it from the content route), so a video whose
// frame cannot be taken is still Ready, only without a poster.
func (s *Service) makeVideo(ctx context.Context, f box.File, in *sourceReader, st *counting) (outcome, error) {
	demux, ok := demuxers[f.ContentType]
	if s.tools.FFmpeg == "" || !ok {
		return outcome{reason: ReasonNoTool}, nil
	}
	args := func(streamed bool) []string {
		input := "/dev/fd/3"
		if streamed {
			input = "pipe:0"
		}
		// Scale before picking, so the thumbnail filter holds small frames;
		// ffmpeg turns phone videos upright from their display matrix.
		return []string{"-nostdin", "-hide_banner", "-loglevel", "error", "-threads", "1",
			"-protocol_whitelist", "file,pipe", "-f", demux, "-i", input,
			"-map", "0:v:0", "-an", "-sn", "-dn",
			"-vf", fmt.Sprintf("scale='min(%[1]d,iw)':'min(%[1]d,ih)':force_original_aspect_ratio=decrease,thumbnail=n=24", posterSize),
			"-frames:v", "1", "-f", "image2pipe", "-c:v", "mjpeg", "-q:v", "3", "pipe:1"}
	}
	poster, err := s.runTool(ctx, s.tools.FFmpeg, toolInput{r: in, size: f.Size}, args, maxJPEG)
	return s.storeRendered(ctx, f, poster, err, st)
}

// storeRendered keeps a poster or page a tool made, with its thumbnail.
func (s *Service) storeRendered(ctx context.Context, f box.File, full []byte, err error, st *counting) (outcome, error) {
	var u *unpreviewable
	if errors.As(err, &u) || err == nil && len(full) == 0 {
		s.log.InfoContext(ctx, "no poster frame", "file", f.ID, "err", err)
		return outcome{reason: ReasonNoPoster}, nil
	}
	if err != nil {
		return outcome{}, err
	}
	thumb, tw, th, err := thumbnailOf(full)
	if err != nil {
		return outcome{reason: ReasonNoPoster}, nil
	}
	w, h, err := jpegSize(full)
	if err != nil {
		return outcome{reason: ReasonNoPoster}, nil
	}
	if err := st.put(ctx, fullKey(f.ID), full); err != nil {
		return outcome{}, err
	}
	if err := st.put(ctx, thumbKey(f.ID), thumb); err != nil {
		return outcome{}, err
	}
	return outcome{thumb: true, full: true, width: w, height: h, thumbWidth: tw, thumbHeight: th}, nil
}
