using Microsoft.Extensions.Logging;

namespace Patronus.Agent.Tests.Support;

/// <summary>
/// A logger factory (and provider) that keeps every message as "Level: message", formatted as the agent's console
/// would print it, for tests that check what the agent says.
/// </summary>
internal sealed class RecordingLoggers : ILoggerFactory, ILoggerProvider
{
    private readonly List<string> _messages = [];

    public IReadOnlyList<string> Messages
    {
        get
        {
            lock (_messages)
                return [.. _messages];
        }
    }

    public ILogger CreateLogger(string categoryName) => new Recorder(_messages);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private sealed class Recorder(List<string> messages) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (messages)
                messages.Add($"{logLevel}: {formatter(state, exception)}");
        }
    }
}
