package smoke

// DetailKeys returns every top-level hookDetails key the smoke hook accepts:
// the configuration keys Config.Apply reads, and StateKey (smokeState), the
// hook's own run state, which it skips. Any other key is refused as unknown.
// The key hook.ConfigKey (gatehouseConfig) is not among them: the hook
// wrapper (hook.Wrap) takes it out before the configuration is parsed.
func DetailKeys() []string {
	return []string{
		"baseUrl",
		"headers",
		"checks",
		"retries",
		"retryDelayMs",
		"maxRetryDelayMs",
		"consecutiveSuccesses",
		"timeoutMs",
		"concurrency",
		StateKey,
	}
}

// CheckKeys returns every key a check in the checks list accepts; any other
// is refused as unknown.
func CheckKeys() []string {
	return []string{
		"name",
		"method",
		"path",
		"headers",
		"body",
		"expectStatus",
		"bodyContains",
		"bodyRegex",
		"jsonPath",
		"equals",
		"maxLatencyMs",
		"critical",
		"followRedirects",
	}
}
