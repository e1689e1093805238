package featuretest_test

import (
	"os"
	"testing"

	"github.com/medbox-jp/medbox/internal/featuretest"
)

func TestMain(m *testing.M) { os.Exit(featuretest.Main(m)) }
