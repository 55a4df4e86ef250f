using Fs.Core.Meta;
using Fs.Core.Vfs;

namespace Appliance.Admin;

/// <summary>The outcome of a health probe: healthy or not, and why, in one line for the operator.</summary>
public readonly record struct HealthReport(bool Healthy, string Detail);

/// <summary>
/// Whether the volume can serve: it is open and its metadata engine answers a cheap call (the root's attributes)
/// within a timeout. Every file-system operation needs the engine, so an engine that does not answer is an outage.
/// </summary>
public sealed class VolumeHealth(Func<IMetaEngine?> engine, TimeSpan timeout)
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(2);

    public TimeSpan Timeout => timeout;

    public async Task<HealthReport> CheckAsync(CancellationToken ct)
    {
        if (engine() is not { } meta)
            return new HealthReport(false, "the volume is not open");
        var description = meta.Description;
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout);
        try
        {
            // On the pool, and waited for with the timeout: an engine may block its caller (SQLite waiting on a lock)
            // rather than honour cancellation.
            var root = await Task.Run(() => meta.GetAttrAsync(FsLimits.RootIno, limit.Token).AsTask(), limit.Token)
                .WaitAsync(limit.Token).ConfigureAwait(false);
            return root.Ok
                ? new HealthReport(true, $"ok: {description} answers")
                : new HealthReport(false, $"{description} answered {root.Error} for the root directory");
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return new HealthReport(false, $"{description} did not answer within {timeout.TotalSeconds:0.###} s");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new HealthReport(false, $"{description} failed: {e.Message}");
        }
    }
}
