namespace Fs.Core.Objects;

/// <summary>Timeouts and retry bounds of an <see cref="S3Store"/>.</summary>
public sealed record S3StoreOptions
{
    /// <summary>One attempt of one request, body included; a 64 MiB block must fit at a modest link speed.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Opening a TCP connection; a dead server is noticed this quickly.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Quick retries the SDK makes inside one attempt (throttling, a 500); outages are ridden out by <see cref="RetryWindow"/>.</summary>
    public int SdkRetries { get; init; } = 2;

    /// <summary>
    /// How long an operation keeps retrying a server that is unreachable or failing before it gives up with an error:
    /// long enough for a restart of the server, short enough that a writer is not held forever.
    /// </summary>
    public TimeSpan RetryWindow { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>First pause between attempts; it doubles per failure up to <see cref="MaxBackoff"/>, with jitter.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(5);
}
