namespace Protocols.Nfs.Rpc;

/// <summary>What one client connection may cost: the largest record, how many calls run at once, how long it may sit idle.</summary>
public sealed record RpcConnectionLimits
{
    /// <summary>Largest record accepted; a 1 MiB WRITE plus its headers fits. A longer record closes the connection.</summary>
    public int MaxRecordBytes { get; init; } = (1 << 20) + 64 * 1024;

    /// <summary>Calls in flight per connection; with <see cref="MaxRecordBytes"/> this bounds a connection's memory.</summary>
    public int MaxInFlight { get; init; } = 32;

    /// <summary>A connection with no call in flight and nothing received for this long is closed.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(5);
}
