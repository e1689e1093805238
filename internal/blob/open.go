package blob

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/medbox-jp/medbox/internal/blob/disk"
	"github.com/medbox-jp/medbox/internal/blob/s3"
)

// Open returns the Store named by url: "" for a directory "blobs" in dataDir, or
// s3://BUCKET?endpoint=URL&region=R&path_style=true for an S3 bucket, with
// credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the SDK's other
// usual sources).
func Open(ctx context.Context, url, dataDir string) (Store, error) {
	switch {
	case url == "":
		if dataDir == "" {
			return nil, fmt.Errorf("open blob store: no data directory for the default disk store")
		}
		return disk.Open(filepath.Join(dataDir, "blobs"))
	case strings.HasPrefix(url, "s3://"):
		return s3.Open(ctx, url)
	default:
		scheme, _, _ := strings.Cut(url, ":")
		return nil, fmt.Errorf("open blob store: want empty (disk) or s3://…, got scheme %q", scheme)
	}
}
