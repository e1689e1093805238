package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/medbox-jp/medbox/internal/blob/internal/object"
)

// Get asks for just the requested bytes with a Range header.
func (s *Store) Get(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	if err := object.ValidKey(key); err != nil {
		return nil, err
	}
	if off < 0 {
		return nil, fmt.Errorf("get %s: negative offset %d", key, off)
	}
	if length == 0 {
		if _, err := s.Stat(ctx, key); err != nil {
			return nil, fmt.Errorf("get %s: %w", key, err)
		}
		return io.NopCloser(strings.NewReader("")), nil
	}
	in := &awss3.GetObjectInput{Bucket: &s.bucket, Key: &key}
	switch {
	case length > 0:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", off, off+length-1))
	case off > 0:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", off))
	}
	out, err := s.client.GetObject(ctx, in)
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "InvalidRange" {
		// The object exists (else NoSuchKey) but ends before off.
		return io.NopCloser(strings.NewReader("")), nil
	}
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, mapErr(err))
	}
	// The transport notices a cancel only eventually; buffered bytes would still
	// flow. Check on every read, as the other stores do.
	return object.ReadCloser{Reader: object.ContextReader(ctx, out.Body), Closer: out.Body}, nil
}
