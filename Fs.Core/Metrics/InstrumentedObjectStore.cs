using System.Diagnostics;
using System.Runtime.CompilerServices;
using Fs.Core.Objects;

namespace Fs.Core.Metrics;

/// <summary>An object store that counts every request of the store it wraps: latency per operation, failures, bytes moved.</summary>
public sealed class InstrumentedObjectStore(IObjectStore inner, FileSystemMetrics metrics) : IObjectStore
{
    public IObjectStore Inner => inner;

    public string Description => inner.Description;

    public Task CreateAsync(CancellationToken ct) => Measure("create", () => inner.CreateAsync(ct));

    public async Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        await Measure("put", () => inner.PutAsync(key, data, ct)).ConfigureAwait(false);
        metrics.ObjectBytes.WithLabels("out").Add(data.Length);
    }

    public async Task<byte[]> GetAsync(string key, CancellationToken ct)
    {
        var data = await Measure("get", () => inner.GetAsync(key, ct)).ConfigureAwait(false);
        metrics.ObjectBytes.WithLabels("in").Add(data.Length);
        return data;
    }

    public async Task<int> GetAsync(string key, Memory<byte> destination, CancellationToken ct)
    {
        var length = await Measure("get", () => inner.GetAsync(key, destination, ct)).ConfigureAwait(false);
        metrics.ObjectBytes.WithLabels("in").Add(length);
        return length;
    }

    public Task DeleteAsync(string key, CancellationToken ct) => Measure("delete", () => inner.DeleteAsync(key, ct));

    public Task SyncAsync(CancellationToken ct) => Measure("sync", () => inner.SyncAsync(ct));

    public Task<long?> HeadAsync(string key, CancellationToken ct) => Measure("head", () => inner.HeadAsync(key, ct));

    public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken ct)
    {
        // A listing is one request per page in most stores; it is timed as a whole and counted once.
        var started = Stopwatch.GetTimestamp();
        var listing = inner.ListAsync(prefix, ct).GetAsyncEnumerator(ct);
        try
        {
            while (true)
            {
                try
                {
                    if (!await listing.MoveNextAsync().ConfigureAwait(false))
                        break;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    metrics.ObjectErrors.WithLabels("list").Increment();
                    throw;
                }
                yield return listing.Current;
            }
        }
        finally
        {
            await listing.DisposeAsync().ConfigureAwait(false);
            metrics.ObjectRequests.WithLabels("list").ObserveSince(started);
        }
    }

    public ValueTask DisposeAsync() => inner.DisposeAsync();

    private async Task Measure(string op, Func<Task> call) =>
        await Measure(op, async () =>
        {
            await call().ConfigureAwait(false);
            return true;
        }).ConfigureAwait(false);

    private async Task<T> Measure<T>(string op, Func<Task<T>> call)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not (OperationCanceledException or ObjectNotFoundException))
        {
            // A missing object is an answer, not a failure of the store.
            metrics.ObjectErrors.WithLabels(op).Increment();
            throw;
        }
        finally
        {
            metrics.ObjectRequests.WithLabels(op).ObserveSince(started);
        }
    }
}
