"""beamstats: LUTE Tasks (Task BeamStats, managed task BeamStatsRunner)."""
