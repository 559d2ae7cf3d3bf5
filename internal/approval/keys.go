package approval

import (
	"maps"
	"slices"
)

// DetailKeys returns every top-level hookDetails key the approval hook
// accepts, in order: the keys of the table Apply reads them with, so the
// list cannot drift from the parser. Apply refuses any other as an unknown
// key. The key hook.ConfigKey (gatehouseConfig) is not among them: the hook
// wrapper (hook.Wrap) takes it out before Apply sees the hookDetails.
func DetailKeys() []string {
	return slices.Sorted(maps.Keys(detailKeys))
}
