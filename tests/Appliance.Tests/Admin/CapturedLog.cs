using System.Collections.Concurrent;
using Serilog.Core;
using Serilog.Events;

namespace Appliance.Tests.Admin;

/// <summary>A Serilog sink that keeps every event, for tests that check what the appliance logs.</summary>
public sealed class CapturedLog : ILogEventSink
{
    public ConcurrentQueue<LogEvent> Events { get; } = new();

    public void Emit(LogEvent logEvent) => Events.Enqueue(logEvent);
}
