package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/blob"
	"github.com/medbox-jp/medbox/internal/blob/s3"
	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// storeState is what the database and the blob store of an instance hold,
// read from outside the process.
type storeState struct {
	db  *sqldb.DB
	raw blob.Store
}

func openStoreState(t *testing.T, env map[string]string, data string) *storeState {
	t.Helper()
	db, err := sqldb.Open(t.Context(), env["MEDBOX_DATABASE"], data)
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	raw, err := blob.Open(t.Context(), env["MEDBOX_BLOBS"], data)
	if err != nil {
		t.Fatalf("open blob store: %v", err)
	}
	return &storeState{db: db, raw: raw}
}

func (s *storeState) ids(t *testing.T, query string) map[string]int64 {
	t.Helper()
	rows, err := s.db.QueryContext(t.Context(), query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var n int64
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		out[id] += n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkStore: every stored object belongs to a row (a file or an upload for
// f/ and p/, a member for proofs/), every file has all its chunks, no file
// exists beside the upload it came from, and every member's stored usage equals
// a recount from files and uploads.
func (r *crashRig) checkStore(t *testing.T) {
	t.Helper()
	checkStoreState(t, openStoreState(t, r.p.env, r.p.data))
	r.logLeftovers(t)
}

func checkStoreState(t *testing.T, s *storeState) {
	t.Helper()
	files := s.ids(t, `SELECT id, chunk_count FROM files`)
	uploads := s.ids(t, `SELECT file_id, 1 FROM uploads`)
	members := s.ids(t, `SELECT id, 1 FROM members`)
	checkpoints := s.ids(t, `SELECT n, 1 FROM audit_checkpoints`)
	for id := range uploads {
		if _, ok := files[id]; ok {
			t.Errorf("file %s exists while its upload is still in progress", id)
		}
	}
	objects := map[string]int64{}
	err := s.raw.List(t.Context(), "", func(key string, _ int64) error {
		parts := strings.Split(key, "/")
		switch {
		case len(parts) == 3 && parts[0] == "f":
			id := parts[1]
			n, err := strconv.Atoi(parts[2])
			count, isFile := files[id]
			_, isUpload := uploads[id]
			switch {
			case err != nil:
				t.Errorf("object %s: not a chunk key", key)
			case !isFile && !isUpload:
				t.Errorf("orphan object %s: no file and no upload %s", key, id)
			case isFile && int64(n) >= count:
				t.Errorf("object %s: file %s has only %d chunks", key, id, count)
			}
			objects[id]++
		case len(parts) >= 3 && parts[0] == "p":
			if _, ok := files[parts[1]]; !ok {
				t.Errorf("orphan preview %s", key)
			}
		case len(parts) == 2 && parts[0] == "proofs":
			if _, ok := members[parts[1]]; !ok {
				t.Errorf("orphan licence proof %s", key)
			}
		case strings.HasPrefix(key, audit.SupersededPrefix):
		case strings.HasPrefix(key, audit.AnchorPrefix):
			n, ok := audit.AnchorNumber(key)
			if _, known := checkpoints[strconv.FormatInt(n, 10)]; !ok || !known {
				t.Errorf("audit anchor %s: no such checkpoint", key)
			}
		default:
			t.Errorf("object %s is of no known kind", key)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("list stored objects: %v", err)
	}
	for id, count := range files {
		if objects[id] != count {
			t.Errorf("file %s: %d chunk objects stored, want %d", id, objects[id], count)
		}
	}
	stored := s.ids(t, `SELECT member_id, bytes FROM usage`)
	counted := s.ids(t, `SELECT sender_id, sum(size) FROM files GROUP BY sender_id`)
	for id, n := range s.ids(t, `SELECT member_id, sum(size) FROM uploads GROUP BY member_id`) {
		counted[id] += n
	}
	for id, n := range stored {
		if counted[id] != n {
			t.Errorf("member %s: stored usage %d bytes, recount %d", id, n, counted[id])
		}
	}
	for id, n := range counted {
		if _, ok := stored[id]; !ok && n != 0 {
			t.Errorf("member %s: no stored usage, recount %d", id, n)
		}
	}
}

// logLeftovers reports what a kill can leave that is not an object: temporary
// files of the disk store (removed once stale) and incomplete multipart uploads
// on S3 (removed by the bucket's lifecycle rule; see docs/deploy.md). Both hold
// sealed bytes only.
func (r *crashRig) logLeftovers(t *testing.T) {
	if u := r.p.env["MEDBOX_BLOBS"]; u != "" {
		n, err := pendingMultipart(t.Context(), u)
		if err != nil {
			t.Errorf("list multipart uploads: %v", err)
		}
		t.Logf("incomplete multipart uploads left in the bucket: %d", n)
		return
	}
	tmp, _ := os.ReadDir(filepath.Join(r.p.data, "blobs", "tmp~"))
	t.Logf("temporary files left in the blob directory: %d", len(tmp))
}

func pendingMultipart(ctx context.Context, blobsURL string) (int, error) {
	loc, err := s3.ParseURL(blobsURL)
	if err != nil {
		return 0, err
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(orDefault(loc.Region, "us-east-1")))
	if err != nil {
		return 0, err
	}
	c := awss3.NewFromConfig(cfg, func(o *awss3.Options) {
		o.BaseEndpoint = aws.String(loc.Endpoint)
		o.UsePathStyle = loc.PathStyle
	})
	out, err := c.ListMultipartUploads(ctx, &awss3.ListMultipartUploadsInput{Bucket: aws.String(loc.Bucket)})
	if err != nil {
		return 0, err
	}
	return len(out.Uploads), nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// checkPlaintext: the first and last stored chunk of every file hold none of
// its plain bytes.
func (r *crashRig) checkPlaintext() {
	t := r.t
	s := openStoreState(t, r.p.env, r.p.data)
	files := s.ids(t, `SELECT id, chunk_count FROM files`)
	for id, data := range r.files {
		count, ok := files[id]
		if !ok {
			t.Errorf("file %s is gone", id)
			continue
		}
		for _, n := range []int64{0, count - 1} {
			rc, err := s.raw.Get(t.Context(), box.ChunkKey(box.FileID(id), int(n)), 0, -1)
			if err != nil {
				t.Errorf("read stored chunk %d of %s: %v", n, id, err)
				continue
			}
			stored, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			lo := n * (256 << 10)
			probe := data[lo+100 : min(lo+164, int64(len(data)))]
			if bytes.Contains(stored, probe) {
				t.Errorf("stored chunk %d of %s contains its plain bytes", n, id)
			}
		}
	}
}
