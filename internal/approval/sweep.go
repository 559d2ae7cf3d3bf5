package approval

// The clock of PAUSE requests: nothing polls them, so a scheduled rule
// sweeps them (issue 13, item 3). Why a sweep rather than one EventBridge
// Scheduler schedule per request: docs/approval.md, "Pause mode".

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/layout"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Index is where open PAUSE requests are marked, beside them in the state
// bucket. *store.S3 satisfies it.
type Index interface {
	Get(ctx context.Context, key string) (store.Object, error)
	Put(ctx context.Context, key string, body []byte, contentType string) error
	// List returns keys under prefix, at most limit (0: all).
	List(ctx context.Context, prefix string, limit int) ([]string, error)
	// Delete removes a marker; a missing one is no error.
	Delete(ctx context.Context, key string) error
}

// PauseIndexPrefix holds one marker per open PAUSE request, named as the
// request is under KeyPrefix: the sweep lists them, not every request ever
// made.
const PauseIndexPrefix = layout.PauseIndex

// marker is a marker's body: what the sweep needs to open the request
// itself, should every delivery of the event have failed.
type marker struct {
	Marked        time.Time  `json:"marked"`
	DeploymentARN string     `json:"deploymentArn,omitempty"`
	HookID        string     `json:"hookId,omitempty"`
	Stage         hook.Stage `json:"stage,omitempty"`
}

func markerKey(key string) string {
	return layout.PauseMarker(key)
}

// UnconfirmedFor is how long the sweep asks ECS again about an event it
// could not confirm (the hook not listed yet, ECS not answering) before
// it drops the event's marker: a forged or foreign event's must not fail
// every sweep for ever.
const UnconfirmedFor = 15 * time.Minute

// mark marks the request at key, of the PAUSE hook hookID of d, as open,
// for the sweep. A marker there already is kept, with when it was made.
func (g *Gate) mark(ctx context.Context, key string, d hook.DeploymentARN, hookID string, stage hook.Stage) error {
	if g.Index == nil {
		return nil
	}
	if _, err := g.Index.Get(ctx, markerKey(key)); err == nil {
		return nil
	}
	body, err := json.Marshal(marker{Marked: g.Now().UTC(), DeploymentARN: d.String(), HookID: hookID, Stage: stage})
	if err != nil {
		return err
	}
	if err := g.Index.Put(ctx, markerKey(key), body, "application/json"); err != nil {
		return fmt.Errorf("mark the PAUSE request open: %w", err)
	}
	return nil
}

// Swept is what one sweep did.
type Swept struct {
	// Open counts the open PAUSE requests seen; Ended those whose marker
	// was removed (ECS told, or the hook waits no more); Failed those that
	// could not be moved on this time.
	Open, Ended, Failed int
}

// sweepReserve is the time the sweep leaves itself before its deadline.
const sweepReserve = 15 * time.Second

// Sweep does for every open PAUSE request what a hook call does for a
// polled one: reminders, expiry (ROLLBACK, named), the watched alarms, the
// wait for a smoke verdict, a deployer lookup, and a ContinueServiceDeployment
// that failed before. A marker whose request does not exist yet (every
// delivery of the event failed) opens it, with settings, as the event
// would have. A request that is pending and unchanged costs one read.
// The requests are taken in a new order each time, so that slow ones
// cannot starve the rest; one request's trouble does not stop the others.
// The errors are returned together, and the next sweep tries again.
func (g *Gate) Sweep(ctx context.Context, settings Settings) (Swept, error) {
	var out Swept
	if g.Index == nil {
		return out, errors.New("sweep: this approval hook has no index of open PAUSE requests")
	}
	markers, err := g.Index.List(ctx, PauseIndexPrefix, 0)
	if err != nil {
		return out, fmt.Errorf("sweep: list the open PAUSE requests: %w", err)
	}
	rand.Shuffle(len(markers), func(i, j int) { markers[i], markers[j] = markers[j], markers[i] })
	var errs []error
	for i, m := range markers {
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < sweepReserve {
			errs = append(errs, fmt.Errorf("sweep: out of time with %d request(s) left", len(markers)-i))
			break
		}
		ended, err := g.sweepOne(ctx, m, settings)
		switch {
		case err != nil:
			out.Failed++
			errs = append(errs, err)
		case ended:
			out.Ended++
		default:
			out.Open++
		}
	}
	return out, errors.Join(errs...)
}

// sweepOne moves on the request of marker m, and removes the marker once
// ECS was told (or the hook waits no more). ended reports the removal.
func (g *Gate) sweepOne(ctx context.Context, m string, settings Settings) (ended bool, err error) {
	key := layout.RequestOfMarker(m)
	obj, err := g.Store.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return g.reopen(ctx, m, key, settings)
	}
	if err != nil {
		return false, fmt.Errorf("sweep %s: %w", key, err)
	}
	r, err := g.decode(key, obj.Body)
	if err != nil {
		return g.unreadable(ctx, m, err)
	}
	if r.Pause == nil || r.Pause.Done != nil {
		// ECS was told; the approvers too, or the marker stays until they
		// are.
		if more, err := g.reannounce(ctx, key, obj.ETag, r); more || err != nil {
			return false, err
		}
		return true, g.unmark(ctx, m)
	}
	// Does ECS still hold the deployment at the hook? A hook someone else
	// ended closes the request, telling its approvers; one ECS took
	// gatehouse's call for is recorded.
	now, err := g.checkPause(ctx, key, obj.ETag, r)
	switch {
	case errors.Is(err, ErrHookEnded) || err == nil && now.Pause != nil && now.Pause.Done != nil:
		if fresh, err := g.Store.Get(ctx, key); err == nil {
			if r, err := Decode(fresh.Body); err == nil && len(r.unannounced()) > 0 {
				// Swept again, to tell whom the announcement missed.
				return false, nil
			}
		}
		return true, g.unmark(ctx, m)
	case err != nil:
		return false, fmt.Errorf("sweep %s: %w", key, err)
	}
	if _, err := g.settle(ctx, key, obj); err != nil {
		return false, fmt.Errorf("sweep %s: %w", key, err)
	}
	return false, nil
}

// reopen handles marker m of a request that does not exist: it opens it as
// the event would have, for a hook ECS still lists awaiting action, and
// removes the marker otherwise.
func (g *Gate) reopen(ctx context.Context, m, key string, settings Settings) (bool, error) {
	obj, err := g.Index.Get(ctx, m)
	if errors.Is(err, store.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("sweep %s: %w", m, err)
	}
	var mk marker
	if err := json.Unmarshal(obj.Body, &mk); err != nil || mk.DeploymentARN == "" || mk.HookID == "" {
		// Nothing to open it from.
		g.Log.WarnContext(ctx, "sweep: a marker without its request or deployment removed", "marker", m)
		return true, g.unmark(ctx, m)
	}
	late := g.Now().Sub(mk.Marked) >= UnconfirmedFor
	if _, err := g.OpenPause(ctx, hook.PauseEvent{EventName: hook.HookAwaitingAction, DeploymentARN: mk.DeploymentARN, HookID: mk.HookID, Stage: mk.Stage}, settings); err != nil {
		if late && !hook.IsTransient(err) {
			// ECS refuses to say (a foreign account's deployment, a forged
			// one): dropped, once, rather than failing every sweep. A
			// passing fault keeps it: a real wait is never forgotten.
			g.Log.WarnContext(ctx, "sweep: a PAUSE event ECS will not confirm is dropped", "marker", m, "marked", mk.Marked, "err", err)
			return true, g.unmark(ctx, m)
		}
		return false, fmt.Errorf("sweep: open the request of %s: %w", m, err)
	}
	if _, err := g.Store.Get(ctx, key); errors.Is(err, store.ErrNotFound) {
		// ECS lists no such hook awaiting action (not yet, or never: it
		// is not ours, or it ended).
		if !late {
			return false, nil
		}
		g.Log.InfoContext(ctx, "sweep: ECS never listed the event's PAUSE hook awaiting action; its marker is dropped", "marker", m, "marked", mk.Marked)
		return true, g.unmark(ctx, m)
	}
	return false, nil
}

// unreadable ends the wait of a PAUSE request that cannot be read (corrupt,
// or inconsistent): ECS is told ROLLBACK, from the marker, since no reading
// of it may approve; the document is left for inspection, and the error
// reported once.
func (g *Gate) unreadable(ctx context.Context, m string, readErr error) (bool, error) {
	if g.Pauses == nil {
		return false, readErr
	}
	obj, err := g.Index.Get(ctx, m)
	if err != nil {
		return false, errors.Join(readErr, err)
	}
	var mk marker
	if json.Unmarshal(obj.Body, &mk) != nil || mk.DeploymentARN == "" || mk.HookID == "" {
		return true, errors.Join(readErr, g.unmark(ctx, m))
	}
	cerr := g.Pauses.Continue(ctx, mk.DeploymentARN, mk.HookID, "ROLLBACK")
	if cerr != nil && !errors.Is(cerr, ErrHookNotWaiting) {
		return false, errors.Join(readErr, fmt.Errorf("ROLLBACK for the unreadable request: %w", cerr))
	}
	g.Log.ErrorContext(ctx, "an unreadable PAUSE request: ECS told ROLLBACK", "marker", m, "err", readErr)
	return true, errors.Join(readErr, g.unmark(ctx, m))
}

func (g *Gate) unmark(ctx context.Context, m string) error {
	if g.Index == nil {
		return nil
	}
	if err := g.Index.Delete(ctx, m); err != nil {
		return fmt.Errorf("sweep: remove %s: %w", m, err)
	}
	return nil
}
