using Fs.Core.Locks;

namespace Fs.Core.Tests.Locks;

/// <summary>A lock manager over an in-memory store, the owners the tests use, and a clock the tests move.</summary>
public abstract class LockManagerTestBase : IAsyncLifetime
{
    protected const ulong File = 10;
    protected const ulong OtherFile = 11;

    protected static readonly LockOwner FuseA = new(1, LockDoor.Fuse, "local", 100);
    protected static readonly LockOwner FuseB = new(1, LockDoor.Fuse, "local", 200);
    protected static readonly LockOwner NfsC = new(1, LockDoor.Nfs, "10.0.0.7", 1);
    protected static readonly LockOwner DavD = new(1, LockDoor.WebDav, "alice", 0);
    protected static readonly LockOwner DavE = new(1, LockDoor.WebDav, "bob", 0);

    /// <summary>Long enough that a test waiting for a wake-up cannot be rescued by polling.</summary>
    protected static readonly TimeSpan NoPolling = TimeSpan.FromHours(1);

    /// <summary>How long a test waits for something that should happen at once before calling it a failure.</summary>
    protected static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly List<LockManager> _managers = [];

    protected InMemoryLockStore Store { get; } = new();

    protected ManualClock Clock { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    protected LockManager NewManager(LockManagerOptions? options = null)
    {
        var manager = new LockManager(Store, options ?? new LockManagerOptions { PollInterval = NoPolling, Time = Clock });
        _managers.Add(manager);
        return manager;
    }

    /// <summary>Gives a waiting request time to reach its wait, then checks it is still waiting.</summary>
    protected static async Task AssertStillWaitingAsync(Task<Fs.Core.Vfs.Errno> request)
    {
        await Task.Delay(150);
        Assert.False(request.IsCompleted, "the request finished instead of waiting");
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var manager in _managers)
            await manager.DisposeAsync();
    }
}
