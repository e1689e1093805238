package blobtest_test

import (
	"testing"

	"github.com/medbox-jp/medbox/internal/blob"
	"github.com/medbox-jp/medbox/internal/blob/blobtest"
)

func TestMemory(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store { return blobtest.NewMemory() })
}
