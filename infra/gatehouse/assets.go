package gatehouse

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// The functions, by the name of their directory under functions/ and of
// their asset directory under build/.
const (
	ApprovalHookName = "approval-hook"
	ApprovalAPIName  = "approval-api"
	SmokeHookName    = "smoke-hook"
	BakeHookName     = "bake-hook"
)

// FunctionNames lists every function the suite deploys.
var FunctionNames = []string{ApprovalHookName, ApprovalAPIName, SmokeHookName, BakeHookName}

// Bootstrap is the executable a provided.al2023 function runs, and so the
// handler name.
const Bootstrap = "bootstrap"

// CheckAssets reports every function whose asset directory under dir lacks
// its bootstrap binary, with the remedy. Synthesis would otherwise fail deep
// inside the asset staging with a message that names neither.
func CheckAssets(dir string) error {
	var errs []error
	for _, name := range FunctionNames {
		p := filepath.Join(dir, name, Bootstrap)
		fi, err := os.Stat(p)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: no Lambda binary at %s", name, p))
		case !fi.Mode().IsRegular():
			errs = append(errs, fmt.Errorf("%s: %s is not a file", name, p))
		}
	}
	if len(errs) > 0 {
		errs = append(errs, fmt.Errorf("run `make build` first (it writes build/<name>/%s for linux/arm64), or point the app at another directory with -c assetDir=DIR or GATEHOUSE_ASSET_DIR=DIR", Bootstrap))
	}
	return errors.Join(errs...)
}
