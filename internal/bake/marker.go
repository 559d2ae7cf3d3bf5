package bake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// The start marker backs up the run state's start. ECS documents that it
// passes the hookDetails of an IN_PROGRESS answer back, merged into the
// next call's; were it ever to pass only the configured ones, every call
// would start the window afresh and the bake would never end before ECS's
// hook timeout. So, with a state bucket, the first call of a run also
// records the run's start at StartKey (a conditional create: of concurrent
// first calls, one writes it and the others read it), and a call with no
// usable run state in hookDetails continues the window from that marker,
// without the state's history, instead of starting afresh.
//
// A marker is used only by its own deployment, stage, target revision and
// configuration, and only while it is not stale, by the same rules as a run
// state (see resume). Any other marker is replaced (a conditional update)
// by one of the run starting at this call, so that the next call without a
// run state continues the new window rather than starting yet another.
//
// Reading and writing the marker fail the way the sources do: a transient
// error is a failing check (IN_PROGRESS, then FAILED once errors have
// lasted maxErrorDuration) and the next call tries again. A permanent error
// (the bucket refuses: a missing s3:GetObject or s3:ListBucket on
// reports/*) is logged, and the bake goes on with the run state in
// hookDetails alone, as without a bucket: a missing permission must not fail
// every deployment over a safeguard against a failure of ECS that AWS
// documents does not happen.

// MarkerVersion is the version of the start marker document.
const MarkerVersion = 1

// markerAttempts bounds how many times one call reads the marker again
// after losing a conditional write to another call before it gives up,
// transiently.
const markerAttempts = 3

// marker is the document at StartKey.
type marker struct {
	// Version is MarkerVersion.
	Version int `json:"v"`
	// DeploymentARN, Stage, TargetRevisionARN and Config (the fingerprint
	// of the configuration) are what the run belongs to, as in State.
	DeploymentARN     string     `json:"deploymentArn"`
	Stage             hook.Stage `json:"stage"`
	TargetRevisionARN string     `json:"targetRevisionArn"`
	Config            string     `json:"config"`
	// Step is the step check's step, as in State.
	Step string `json:"step,omitempty"`
	// Start is when the run's window started.
	Start time.Time `json:"start"`
	// ExtendedEnd is the extended window's end, recorded when a call
	// continued from the marker extended the window (so that the next one
	// does not extend it again); null otherwise. A run state in hookDetails
	// carries its own.
	ExtendedEnd *time.Time `json:"extendedEnd"`
}

func markerOf(st State) marker {
	return marker{Version: MarkerVersion, DeploymentARN: st.Deployment, Stage: st.Stage, TargetRevisionARN: st.Revision,
		Config: st.Config, Step: st.Step, Start: st.Start, ExtendedEnd: st.ExtendedEnd}
}

func (m marker) binding() binding {
	return binding{Deployment: m.DeploymentARN, Stage: m.Stage, Revision: m.TargetRevisionARN, Config: m.Config, Step: m.Step}
}

// decodeMarker decodes a marker; the error says why it cannot be.
func decodeMarker(body []byte) (marker, error) {
	var m marker
	if err := json.Unmarshal(body, &m); err != nil {
		return marker{}, fmt.Errorf("it cannot be decoded: %v", err)
	}
	if m.Version != MarkerVersion {
		return marker{}, fmt.Errorf("it has version %d, want %d", m.Version, MarkerVersion)
	}
	return m, nil
}

// unusable says why m cannot give the start of b's run at now, or "" if
// it can: the rules of resume, with a marker that has no start or starts
// in the future left rather than refused.
func (m marker) unusable(b binding, cfg Config, now time.Time) string {
	if why := b.mismatch(m.binding()); why != "" {
		return why
	}
	if m.Start.IsZero() {
		return "it has no start time"
	}
	if m.Start.After(now.Add(maxClockSkew)) {
		return fmt.Sprintf("it starts %s, in the future", m.Start.UTC().Format(time.RFC3339))
	}
	return stale(cfg, m.Start, State{Start: m.Start, ExtendedEnd: m.ExtendedEnd}.end(cfg.Window), now)
}

// markerUse is what one call did with the start marker.
type markerUse struct {
	// err is a transient error reading or writing it, judged as a failing
	// check; the next call tries again.
	err error
	// resumed is set when the window was continued from the marker, there
	// being no usable run state.
	resumed bool
	// doc and etag are the marker as a call without a usable run state
	// read or wrote it, to record an extension in; etag is "" otherwise.
	doc  marker
	etag string
}

// mark keeps the start marker of the run, at key, when there is a state
// bucket. With a usable run state (continued), it records the state's start
// once, replacing a marker that says otherwise: the state wins. Without
// one, st is a fresh run starting now; mark continues it from a usable
// marker, or records it, replacing any other marker.
func (c *Checker) mark(ctx context.Context, key string, b binding, cfg Config, now time.Time, st *State, continued bool) markerUse {
	if c.Reports == nil || (continued && st.Marked) {
		return markerUse{}
	}
	log := c.logger().With("deployment_arn", b.Deployment, "stage", string(b.Stage), "key", key)
	for range markerAttempts {
		obj, err := call(ctx, c, func(ctx context.Context) (store.Object, error) { return c.Reports.Get(ctx, key) })
		found := err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return c.markerFailed(ctx, log, st, fmt.Errorf("read start marker: %w", err))
		}
		var why string // why the marker found is replaced
		if found {
			m, err := decodeMarker(obj.Body)
			switch {
			case err != nil:
				why = err.Error()
			case continued:
				if why = b.mismatch(m.binding()); why == "" && !m.Start.Equal(st.Start) {
					why = fmt.Sprintf("it records a start at %s, the run state one at %s", m.Start.UTC().Format(time.RFC3339), st.Start.UTC().Format(time.RFC3339))
				}
				if why == "" {
					st.Marked = true
					return markerUse{}
				}
			default:
				if why = m.unusable(b, cfg, now); why == "" {
					st.Start, st.ExtendedEnd, st.Marked = m.Start, m.ExtendedEnd, true
					return markerUse{resumed: true, doc: m, etag: obj.ETag}
				}
			}
		}
		doc := markerOf(*st)
		body, err := json.Marshal(doc)
		if err != nil {
			return c.markerFailed(ctx, log, st, fmt.Errorf("encode start marker: %w", err))
		}
		etag, err := call(ctx, c, func(ctx context.Context) (string, error) {
			if found {
				return c.Reports.Update(ctx, key, body, obj.ETag)
			}
			return c.Reports.Create(ctx, key, body)
		})
		switch {
		case err == nil:
			st.Marked = true
			if found {
				log.WarnContext(ctx, "bake start marker replaced by this run's", "why", why, "start", st.Start)
			}
			if continued {
				return markerUse{}
			}
			return markerUse{doc: doc, etag: etag}
		case errors.Is(err, store.ErrPrecondition) || errors.Is(err, store.ErrNotFound):
			// Another call wrote (or removed) it since it was read: read
			// it again and decide again.
			continue
		default:
			return c.markerFailed(ctx, log, st, fmt.Errorf("write start marker: %w", err))
		}
	}
	return markerUse{err: hook.Transient(fmt.Errorf("start marker %s: changed by other calls %d times in a row", key, markerAttempts))}
}

// markerFailed answers an error reading or writing the marker: a transient
// one is returned, to be judged as a failing check; a permanent one is
// logged, and the run goes on without a marker (see the comment at the top
// of this file), which later calls of the run do not ask for again.
func (c *Checker) markerFailed(ctx context.Context, log *slog.Logger, st *State, err error) markerUse {
	if hook.IsTransient(err) {
		return markerUse{err: err}
	}
	st.Marked = true
	log.ErrorContext(ctx, "bake start marker not kept: the state bucket refused it; the bake goes on with the run state in hookDetails alone (it needs s3:GetObject on reports/* and s3:ListBucket on the bucket)",
		"err", err)
	return markerUse{}
}

// recordExtension records in the marker that a call continued from it, or
// that wrote it, without a usable run state, extended the window, so that
// the next such call does not extend it again. It is best effort: if it is
// lost, such a call extends the window again, from its own time, which
// only makes the bake wait longer.
func (c *Checker) recordExtension(ctx context.Context, key string, u markerUse, st State) {
	if u.etag == "" || st.ExtendedEnd == nil || u.doc.ExtendedEnd != nil {
		return
	}
	log := c.logger()
	doc := u.doc
	doc.ExtendedEnd = st.ExtendedEnd
	body, err := json.Marshal(doc)
	if err == nil {
		_, err = call(ctx, c, func(ctx context.Context) (string, error) { return c.Reports.Update(ctx, key, body, u.etag) })
	}
	if err != nil {
		log.WarnContext(ctx, "bake window extension not recorded in the start marker", "deployment_arn", st.Deployment,
			"stage", string(st.Stage), "key", key, "err", err)
	}
}
