namespace Patronus.Agent.Client;

/// <summary>The agent could not be reached: its socket is absent, refuses connections, or did not answer in time.</summary>
public sealed class AgentUnavailableException(string message, Exception? inner = null, bool requestSent = false) : Exception(message, inner)
{
    /// <summary>
    /// True when the request had reached the agent's socket before the agent stopped answering (a timeout, a
    /// dropped connection): it may have acted on it. False when no connection was made, so it cannot have.
    /// </summary>
    public bool RequestSent { get; } = requestSent;
}

/// <summary>The agent answered, and refused the request; <see cref="Exception.Message"/> is the agent's own explanation.</summary>
public sealed class AgentRejectedException(string message) : Exception(message);
