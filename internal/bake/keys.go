package bake

// DetailKeys returns every top-level hookDetails key the bake hook accepts:
// the configuration keys Apply and ParseConfig read, and StateKey
// (bakeState), the hook's own run state, which they skip. Any other key is
// refused as unknown. The key hook.ConfigKey (gatehouseConfig) is not among
// them: the hook wrapper (hook.Wrap) takes it out before the configuration
// is parsed.
func DetailKeys() []string {
	return []string{
		"window",
		"alarms",
		"metrics",
		"minRequests",
		"stepMinRequests",
		"onNoTraffic",
		"callbackDelay",
		"maxErrorDuration",
		StateKey,
	}
}

// AlarmKeys returns every key the alarms object accepts.
func AlarmKeys() []string {
	return []string{"names", "prefixes", "insufficientData"}
}

// MetricKeys returns every key a metric check in the metrics list accepts.
func MetricKeys() []string {
	return []string{
		"name",
		"kind",
		"expression",
		"metrics",
		"max",
		"maxMs",
		"maxRelativeToBlue",
		"min",
	}
}

// ExpressionMetricKeys returns every key a metric of an expression accepts,
// the objects of a metric check's metrics, by id.
func ExpressionMetricKeys() []string {
	return []string{"namespace", "metric", "dimensions", "stat"}
}
