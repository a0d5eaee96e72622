namespace Patronus.Agent.Paths;

/// <summary>
/// A path's health as <see cref="PathHealth"/> decides it. The numeric values are what
/// <c>patronus_path_state</c> reports, ordered from worst to best.
/// </summary>
public enum PathState
{
    /// <summary>No reply for the detection time (or never answered yet): carries no traffic while another path is usable.</summary>
    Down = 0,

    /// <summary>Answers, but its score has been low for several samples in a row: usable, not preferred.</summary>
    Degraded = 1,

    /// <summary>Answers and scores well.</summary>
    Up = 2,
}
