package s3_test

import (
	"testing"

	"github.com/medbox-jp/medbox/internal/blob"
	"github.com/medbox-jp/medbox/internal/blob/blobtest"
	"github.com/medbox-jp/medbox/internal/blob/s3"
	"github.com/medbox-jp/medbox/internal/blob/s3/s3test"
)

func runContract(t *testing.T, server string) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		s, err := s3.Open(t.Context(), s3test.NewBucket(t, server))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestContract runs over plain HTTP, where uploads of known size go as streamed
// multipart uploads.
func TestContract(t *testing.T) { runContract(t, s3test.StartServer(t)) }

// TestContractTLS runs over HTTPS, where uploads of known size go as one streamed
// PutObject with a trailing checksum.
func TestContractTLS(t *testing.T) { runContract(t, s3test.StartTLSServer(t)) }
