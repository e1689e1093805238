package s3

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/medbox-jp/medbox/internal/blob/internal/object"
)

const (
	// maxPartSize is the largest part, and the largest single PutObject, S3 accepts.
	maxPartSize = 5 << 30
	// bufferedPart is how much an upload of unknown size holds in memory at a
	// time; S3 wants every part but the last to be at least 5 MiB.
	bufferedPart = 8 << 20
	maxParts     = 10_000
)

// Put stores r so that the object appears whole or not at all, even on a server
// that would store a request body cut short by a failing reader.
//
//   - Known size over HTTPS: one PutObject streamed from r with a trailing
//     checksum, which the server checks before it stores anything.
//   - Known size over plain HTTP: a multipart upload whose parts stream from r;
//     it is completed only once every part went through, and aborted otherwise.
//   - Unknown size: parts of 8 MiB are buffered one at a time; an object that fits
//     in the first goes as one PutObject with a checksum header.
//
// Memory stays bounded by one buffered part whatever the object's size.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := object.ValidKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	var err error
	src := &trackReader{r: r}
	switch {
	case size == 0:
		src.r = object.Exact(r, 0)
		if _, err = src.Read(make([]byte, 1)); err == io.EOF {
			err = s.putBuffered(ctx, key, nil)
		} else {
			err = src.cause(err)
		}
	case size > 0 && s.tls && size <= maxPartSize:
		// Stop feeding the request once ctx ends, so the body's trailing
		// checksum is never sent and the server stores nothing.
		src.r = object.ContextReader(ctx, object.Exact(r, size))
		err = s.putStream(ctx, key, src, size)
	case size > 0:
		src.r = object.Exact(r, size)
		err = s.putKnownParts(ctx, key, src, size)
	default:
		src.r = object.ContextReader(ctx, r)
		err = s.putUnknown(ctx, key, src)
	}
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

// putStream sends exactly size bytes of src in one request.
func (s *Store) putStream(ctx context.Context, key string, src *trackReader, size int64) error {
	_, err := s.client.PutObject(ctx, &awss3.PutObjectInput{
		Bucket: &s.bucket, Key: &key, Body: src, ContentLength: aws.Int64(size),
	}, s.streamOpts...)
	return src.cause(err)
}

// putBuffered sends b in one request with a CRC32 header the server verifies.
func (s *Store) putBuffered(ctx context.Context, key string, b []byte) error {
	_, err := s.client.PutObject(ctx, &awss3.PutObjectInput{
		Bucket: &s.bucket, Key: &key, Body: bytes.NewReader(b), ContentLength: aws.Int64(int64(len(b))),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32,
	})
	return err
}

// putKnownParts streams src as parts of at most 5 GiB: usually just one.
func (s *Store) putKnownParts(ctx context.Context, key string, src *trackReader, size int64) error {
	nparts := (size + maxPartSize - 1) / maxPartSize
	psize := (size + nparts - 1) / nparts
	left := size
	return s.multipart(ctx, key, src, func() (io.Reader, int64, error) {
		n := min(psize, left)
		left -= n
		return io.LimitReader(src, n), n, nil
	})
}

// putUnknown buffers src a part at a time.
func (s *Store) putUnknown(ctx context.Context, key string, src *trackReader) error {
	buf := make([]byte, bufferedPart)
	n, err := io.ReadFull(src, buf)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return s.putBuffered(ctx, key, buf[:n])
	case err != nil:
		return src.cause(err)
	}
	first := true
	return s.multipart(ctx, key, src, func() (io.Reader, int64, error) {
		if !first {
			n, err = io.ReadFull(src, buf)
			if err == io.EOF {
				return nil, 0, nil
			}
			if err != nil && err != io.ErrUnexpectedEOF {
				return nil, 0, err
			}
		}
		first = false
		return bytes.NewReader(buf[:n]), int64(n), nil
	})
}

// multipart runs a multipart upload of the parts next returns until it returns a
// part of length 0 (or, once, the first part whatever its length). Only a complete
// run makes the object visible; any failure aborts the upload.
func (s *Store) multipart(ctx context.Context, key string, src *trackReader, next func() (io.Reader, int64, error)) error {
	up, err := s.client.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return fmt.Errorf("start multipart upload: %w", err)
	}
	completed := false
	defer func() {
		if !completed {
			s.abort(ctx, key, up.UploadId)
		}
	}()
	var parts []types.CompletedPart
	for num := int32(1); ; num++ {
		body, n, err := next()
		if err != nil {
			return src.cause(err)
		}
		if n == 0 && num > 1 {
			break
		}
		if num > maxParts {
			return fmt.Errorf("more than %d parts", maxParts)
		}
		out, err := s.client.UploadPart(ctx, &awss3.UploadPartInput{
			Bucket: &s.bucket, Key: &key, UploadId: up.UploadId, PartNumber: aws.Int32(num),
			Body: body, ContentLength: aws.Int64(n),
		}, s.streamOpts...)
		if err != nil {
			return src.cause(fmt.Errorf("upload part %d: %w", num, err))
		}
		parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(num)})
	}
	// A reader that has more than it declared fails only when read past the end.
	if _, err := src.Read(make([]byte, 1)); err != io.EOF {
		return src.cause(fmt.Errorf("%w: longer than declared", object.ErrSize))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	_, err = s.client.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{
		Bucket: &s.bucket, Key: &key, UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		return fmt.Errorf("complete multipart upload: %w", err)
	}
	completed = true
	return nil
}

// abort frees a failed multipart upload's parts, even when ctx is what failed.
func (s *Store) abort(ctx context.Context, key string, id *string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_, _ = s.client.AbortMultipartUpload(ctx, &awss3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: &key, UploadId: id})
}

// trackReader remembers the first error its reader returned, so that a failed
// request reports the reader's error (ErrSize, the client's disconnect) rather
// than the transport's account of it.
type trackReader struct {
	r   io.Reader
	err error
}

func (t *trackReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF && t.err == nil {
		t.err = err
	}
	return n, err
}

// cause returns the reader's error if it had one, else err.
func (t *trackReader) cause(err error) error {
	if err != nil && t.err != nil {
		return t.err
	}
	return err
}
