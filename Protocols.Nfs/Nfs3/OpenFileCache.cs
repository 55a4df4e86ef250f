using System.Collections.Concurrent;
using Fs.Core.Vfs;
using Microsoft.Extensions.Logging;

namespace Protocols.Nfs.Nfs3;

/// <summary>
/// NFS has no open or close, so the door keeps one open <see cref="FileHandle"/> per inode it reads or writes, opened
/// as root after the caller passed the NFS-level permission check, and releases it after it sat unused for a while.
/// Keeping it open keeps the file's write buffer, so UNSTABLE writes gather into large slices until COMMIT.
/// </summary>
public sealed class OpenFileCache : IAsyncDisposable
{
    private readonly FileSystem _fs;
    private readonly TimeSpan _idle;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<ulong, Entry> _entries = new();
    /// <summary>Opens of one inode are serialized (so it gets one handle), opens of different inodes mostly not.</summary>
    private readonly SemaphoreSlim[] _opening = [.. Enumerable.Range(0, 64).Select(_ => new SemaphoreSlim(1, 1))];
    private readonly Timer _sweeper;

    public OpenFileCache(FileSystem fs, TimeSpan idle, ILogger logger)
    {
        _fs = fs;
        _idle = idle;
        _logger = logger;
        var period = TimeSpan.FromTicks(Math.Max(idle.Ticks / 2, TimeSpan.FromMilliseconds(100).Ticks));
        _sweeper = new Timer(_ => _ = SweepAsync(), null, period, period);
    }

    /// <summary>A handle on <paramref name="ino"/> able to write when <paramref name="write"/> is set; dispose the lease when done.</summary>
    public async ValueTask<Result<OpenFileLease>> AcquireAsync(ulong ino, bool write, CancellationToken ct)
    {
        while (true)
        {
            if (_entries.TryGetValue(ino, out var entry) && (!write || entry.Handle.CanWrite))
            {
                if (entry.TryEnter())
                    return new OpenFileLease(entry);
                continue;
            }
            var opening = _opening[ino % (ulong)_opening.Length];
            await opening.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                if (_entries.TryGetValue(ino, out entry) && (!write || entry.Handle.CanWrite))
                    continue;
                var opened = await OpenAsync(ino, write, ct).ConfigureAwait(false);
                if (!opened.Ok)
                    return opened.Error;
                var fresh = new Entry(opened.Value);
                fresh.TryEnter();
                if (entry is not null)
                {
                    // A read-only handle is replaced by a read-write one; the old one goes once its users are done.
                    _entries[ino] = fresh;
                    await RetireAsync(entry, force: true).ConfigureAwait(false);
                }
                else
                {
                    _entries[ino] = fresh;
                }
                return new OpenFileLease(fresh);
            }
            finally
            {
                opening.Release();
            }
        }
    }

    /// <summary>Read-only until a WRITE needs more, so files that are only read never get a write buffer.</summary>
    private ValueTask<Result<FileHandle>> OpenAsync(ulong ino, bool write, CancellationToken ct) =>
        _fs.OpenAsync(Caller.Root, ino, write ? OpenFlags.ReadWrite : OpenFlags.ReadOnly, ct);

    /// <summary>Releases the cached handle of an inode now (its name was removed, so nobody should find it again).</summary>
    public async ValueTask ForgetAsync(ulong ino)
    {
        if (_entries.TryRemove(ino, out var entry))
            await RetireAsync(entry, force: true).ConfigureAwait(false);
    }

    private async Task SweepAsync()
    {
        var now = Environment.TickCount64;
        foreach (var (ino, entry) in _entries)
        {
            if (now - entry.LastUsed < (long)_idle.TotalMilliseconds)
                continue;
            if (!entry.TryRetire())
                continue;
            _entries.TryRemove(new KeyValuePair<ulong, Entry>(ino, entry));
            await ReleaseAsync(entry.Handle).ConfigureAwait(false);
        }
    }

    private async ValueTask RetireAsync(Entry entry, bool force)
    {
        if (entry.TryRetire())
            await ReleaseAsync(entry.Handle).ConfigureAwait(false);
        else if (force)
            entry.ReleaseWhenIdle(this);
    }

    internal async ValueTask ReleaseAsync(FileHandle handle)
    {
        try
        {
            var result = await _fs.ReleaseAsync(handle, CancellationToken.None).ConfigureAwait(false);
            if (result is not Errno.OK and not Errno.EBADF)
                _logger.LogWarning("releasing inode {Ino} failed: {Errno}", handle.Ino, result);
        }
        catch (Exception e)
        {
            _logger.LogError(e, "releasing inode {Ino} failed", handle.Ino);
        }
    }

    /// <summary>Releases every handle (committing buffered writes), as at shutdown.</summary>
    public async ValueTask DisposeAsync()
    {
        await _sweeper.DisposeAsync().ConfigureAwait(false);
        foreach (var ino in _entries.Keys)
            if (_entries.TryRemove(ino, out var entry))
                await ReleaseAsync(entry.Handle).ConfigureAwait(false);
    }

    /// <summary>One cached handle and the count of calls using it; a retired entry is never handed out again.</summary>
    internal sealed class Entry(FileHandle handle)
    {
        private readonly Lock _gate = new();
        private int _users;
        private bool _retired;
        private OpenFileCache? _releaseWhenIdle;

        public FileHandle Handle { get; } = handle;

        public long LastUsed { get; private set; } = Environment.TickCount64;

        public bool TryEnter()
        {
            lock (_gate)
            {
                if (_retired)
                    return false;
                _users++;
                LastUsed = Environment.TickCount64;
                return true;
            }
        }

        public void Exit()
        {
            OpenFileCache? release;
            lock (_gate)
            {
                _users--;
                LastUsed = Environment.TickCount64;
                release = _users == 0 && _releaseWhenIdle is not null ? _releaseWhenIdle : null;
                if (release is not null)
                {
                    _retired = true;
                    _releaseWhenIdle = null;
                }
            }
            if (release is not null)
                _ = release.ReleaseAsync(Handle).AsTask();
        }

        public bool TryRetire()
        {
            lock (_gate)
            {
                if (_retired || _users > 0)
                    return false;
                _retired = true;
                return true;
            }
        }

        public void ReleaseWhenIdle(OpenFileCache cache)
        {
            lock (_gate)
            {
                if (!_retired)
                {
                    _retired = true;
                    if (_users == 0)
                        _ = cache.ReleaseAsync(Handle).AsTask();
                    else
                        _releaseWhenIdle = cache;
                }
            }
        }
    }
}

/// <summary>A cached open file in use by one call; disposing it marks the call done.</summary>
public readonly struct OpenFileLease : IDisposable
{
    private readonly OpenFileCache.Entry _entry;

    internal OpenFileLease(OpenFileCache.Entry entry) => _entry = entry;

    public FileHandle Handle => _entry.Handle;

    public void Dispose() => _entry.Exit();
}
