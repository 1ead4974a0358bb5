using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace ConsulOperator.Tests.Integration;

/// <summary>Every log line the operator writes at Information and above, formatted, for tests that look for what must never be logged.</summary>
public sealed class LogRecorder : ILoggerProvider
{
    private readonly ConcurrentQueue<string> lines = new();

    public IReadOnlyList<string> Lines => [.. lines];

    public ILogger CreateLogger(string categoryName) => new Recorder(categoryName, lines);

    public void Dispose()
    {
    }

    private sealed class Recorder(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                lines.Enqueue($"{category}: {formatter(state, exception)} {exception}");
            }
        }
    }
}
