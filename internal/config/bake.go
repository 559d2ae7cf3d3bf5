package config

// EnvBakeConfig holds the bake hook's default configuration: the same JSON
// object as its hookDetails, whose keys override it per service. The bake
// package loads it (bake.LoadHookEnv).
const EnvBakeConfig = "GATEHOUSE_BAKE_CONFIG"
