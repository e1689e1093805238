package upload_test

import (
	"os"
	"testing"

	"github.com/medbox-jp/medbox/internal/featuretest"
)

func TestMain(m *testing.M) { os.Exit(featuretest.Main(m)) }

// shared are the options of the World per engine that the tests share whose
// cases neither move the clock nor act on the whole World.
var shared = opts
