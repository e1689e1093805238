// Package s3 is the blob store in an S3 bucket (AWS, or any server that speaks the
// S3 API): one object per key, Range requests that fetch only the bytes asked for,
// and uploads streamed from the caller's reader in bounded memory.
package s3

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/medbox-jp/medbox/internal/blob/internal/object"
)

// Store is a blob store in one bucket. It is safe for concurrent use.
type Store struct {
	client *awss3.Client
	bucket string
	// tls is whether the endpoint is HTTPS, where the SDK can stream a body with a
	// trailing checksum.
	tls bool
	// streamOpts make an upload from a reader that cannot rewind possible over
	// plain HTTP: the payload is sent unsigned, since signing it would need two
	// passes over the body.
	streamOpts []func(*awss3.Options)
}

// Location is what an s3:// URL names.
type Location struct {
	Bucket    string
	Endpoint  string // "" for AWS itself
	Region    string
	PathStyle bool
}

// ParseURL reads s3://BUCKET?endpoint=URL&region=R&path_style=true.
func ParseURL(raw string) (Location, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Location{}, fmt.Errorf("parse s3 url: %w", err)
	}
	if u.Scheme != "s3" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.User != nil {
		return Location{}, fmt.Errorf("parse s3 url: want s3://BUCKET?endpoint=…&region=…&path_style=true")
	}
	loc := Location{Bucket: u.Host}
	for name, vals := range u.Query() {
		v := vals[len(vals)-1]
		switch name {
		case "endpoint":
			e, err := url.Parse(v)
			if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
				return Location{}, fmt.Errorf("parse s3 url: endpoint %q is not an http(s) URL", v)
			}
			loc.Endpoint = v
		case "region":
			loc.Region = v
		case "path_style":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return Location{}, fmt.Errorf("parse s3 url: path_style=%q: %w", v, err)
			}
			loc.PathStyle = b
		default:
			return Location{}, fmt.Errorf("parse s3 url: unknown parameter %q", name)
		}
	}
	return loc, nil
}

// Open returns the store for an s3:// URL (see ParseURL). Credentials come from the
// SDK's usual sources, first AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. Open does
// not contact the server; Ping does.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	loc, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	var opts []func(*config.LoadOptions) error
	if loc.Region != "" {
		opts = append(opts, config.WithRegion(loc.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("open s3 bucket %s: load aws config: %w", loc.Bucket, err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	plainHTTP := strings.HasPrefix(loc.Endpoint, "http://")
	client := awss3.NewFromConfig(cfg, func(o *awss3.Options) {
		if loc.Endpoint != "" {
			o.BaseEndpoint = aws.String(loc.Endpoint)
		}
		o.UsePathStyle = loc.PathStyle
		// Range reads and multipart objects have no whole-object checksum to check;
		// that is expected, not worth a log line per read.
		o.DisableLogOutputChecksumValidationSkipped = true
		if plainHTTP {
			// Checksums computed up front need a second pass over the body.
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		}
	})
	s := &Store{client: client, bucket: loc.Bucket, tls: !plainHTTP}
	if plainHTTP {
		s.streamOpts = []func(*awss3.Options){awss3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)}
	}
	return s, nil
}

// Ping checks that the bucket exists and the credentials reach it.
func (s *Store) Ping(ctx context.Context) error {
	if _, err := s.client.HeadBucket(ctx, &awss3.HeadBucketInput{Bucket: &s.bucket}); err != nil {
		return fmt.Errorf("ping s3 bucket %s: %w", s.bucket, err)
	}
	return nil
}

// Stat asks for the object's headers.
func (s *Store) Stat(ctx context.Context, key string) (int64, error) {
	if err := object.ValidKey(key); err != nil {
		return 0, err
	}
	out, err := s.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return 0, fmt.Errorf("stat %s: %w", key, mapErr(err))
	}
	return aws.ToInt64(out.ContentLength), nil
}

// Delete removes the object; S3 itself answers success for an absent key.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := object.ValidKey(key); err != nil {
		return err
	}
	_, err := s.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil && !errors.Is(mapErr(err), object.ErrNotFound) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// List pages through the bucket listing, which S3 returns in key order.
func (s *Store) List(ctx context.Context, prefix string, fn func(key string, size int64) error) error {
	if err := object.ValidPrefix(prefix); err != nil {
		return err
	}
	p := awss3.NewListObjectsV2Paginator(s.client, &awss3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &prefix})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list %q: %w", prefix, err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			if object.ValidKey(key) != nil {
				continue // not ours: no Store could have written it
			}
			if err := fn(key, aws.ToInt64(o.Size)); err != nil {
				return err
			}
		}
	}
	return nil
}

// mapErr turns S3's "no such key" answers into ErrNotFound.
func mapErr(err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return fmt.Errorf("%w: %w", object.ErrNotFound, err)
		}
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound && (ae == nil || ae.ErrorCode() != "NoSuchBucket") {
		return fmt.Errorf("%w: %w", object.ErrNotFound, err)
	}
	return err
}
