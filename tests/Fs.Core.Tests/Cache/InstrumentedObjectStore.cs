using Fs.Core.Objects;

namespace Fs.Core.Tests.Cache;

/// <summary>
/// A real store wrapped to count requests, hold GETs at a gate, and inject the outage a local directory cannot
/// produce on demand.
/// </summary>
public sealed class InstrumentedObjectStore(IObjectStore inner) : IObjectStore
{
    private int _gets;
    private int _puts;
    private TaskCompletionSource? _gate;

    public int Gets => Volatile.Read(ref _gets);

    public int Puts => Volatile.Read(ref _puts);

    public volatile bool Failing;

    /// <summary>GETs still to come whose body arrives with one bit flipped, as a body damaged on the way would.</summary>
    public int DamagedGets;

    public string Description => inner.Description;

    /// <summary>Makes GETs wait until <see cref="OpenGate"/>.</summary>
    public void CloseGate() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void OpenGate() => _gate?.TrySetResult();

    public Task CreateAsync(CancellationToken ct) => inner.CreateAsync(ct);

    public Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        Interlocked.Increment(ref _puts);
        return Failing ? Task.FromException(new IOException("injected store outage")) : inner.PutAsync(key, data, ct);
    }

    public async Task<byte[]> GetAsync(string key, CancellationToken ct)
    {
        await BeforeGetAsync(ct);
        var data = await inner.GetAsync(key, ct);
        if (data.Length > 0 && Interlocked.Decrement(ref DamagedGets) >= 0)
            data[^1] ^= 1;
        return data;
    }

    public async Task<int> GetAsync(string key, Memory<byte> destination, CancellationToken ct)
    {
        await BeforeGetAsync(ct);
        var length = await inner.GetAsync(key, destination, ct);
        if (length > 0 && Interlocked.Decrement(ref DamagedGets) >= 0)
            destination.Span[length - 1] ^= 1;
        return length;
    }

    private async Task BeforeGetAsync(CancellationToken ct)
    {
        Interlocked.Increment(ref _gets);
        if (_gate is { } gate)
            await gate.Task.WaitAsync(ct);
        if (Failing)
            throw new IOException("injected store outage");
    }

    public Task DeleteAsync(string key, CancellationToken ct) => inner.DeleteAsync(key, ct);

    public Task SyncAsync(CancellationToken ct) => inner.SyncAsync(ct);

    public Task<long?> HeadAsync(string key, CancellationToken ct) => inner.HeadAsync(key, ct);

    public IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, CancellationToken ct) => inner.ListAsync(prefix, ct);

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
