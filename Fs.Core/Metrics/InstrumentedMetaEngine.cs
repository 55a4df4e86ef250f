using System.Diagnostics;
using System.Runtime.CompilerServices;
using Fs.Core.Locks;
using Fs.Core.Meta;
using Fs.Core.Meta.Dump;
using Fs.Core.Vfs;

namespace Fs.Core.Metrics;

/// <summary>
/// A metadata engine that counts every round trip to the engine it wraps: latency per operation and failures of the
/// engine itself (an errno result such as ENOENT is an answer, not a failure).
/// </summary>
public sealed class InstrumentedMetaEngine(IMetaEngine inner, FileSystemMetrics metrics) : IMetaEngine
{
    public IMetaEngine Inner => inner;

    public string Description => inner.Description;

    public ValueTask<VolumeFormat?> LoadFormatAsync(CancellationToken ct) => Measure("load_format", () => inner.LoadFormatAsync(ct));

    public ValueTask<Errno> FormatAsync(VolumeFormat format, CancellationToken ct) => Measure("format", () => inner.FormatAsync(format, ct));

    public ValueTask UpdateFormatAsync(VolumeFormat format, CancellationToken ct) => Measure("update_format", () => inner.UpdateFormatAsync(format, ct));

    public ValueTask<UsageCounters> GetUsageAsync(CancellationToken ct) => Measure("get_usage", () => inner.GetUsageAsync(ct));

    public ValueTask<long> RegisterSessionAsync(string host, int pid, string version, string doors, CancellationToken ct) =>
        Measure("register_session", () => inner.RegisterSessionAsync(host, pid, version, doors, ct));

    public ValueTask HeartbeatAsync(long session, CancellationToken ct) => Measure("heartbeat", () => inner.HeartbeatAsync(session, ct));

    public ValueTask SetSessionDoorsAsync(long session, string doors, CancellationToken ct) =>
        Measure("set_session_doors", () => inner.SetSessionDoorsAsync(session, doors, ct));

    public ValueTask CloseSessionAsync(long session, CancellationToken ct) => Measure("close_session", () => inner.CloseSessionAsync(session, ct));

    public ValueTask<IReadOnlyList<SessionInfo>> ListSessionsAsync(CancellationToken ct) => Measure("list_sessions", () => inner.ListSessionsAsync(ct));

    public ValueTask<IReadOnlyList<long>> CleanStaleSessionsAsync(TimeSpan timeout, CancellationToken ct) =>
        Measure("clean_stale_sessions", () => inner.CleanStaleSessionsAsync(timeout, ct));

    public ValueTask<Result<InodeAttr>> LookupAsync(Caller caller, ulong parent, string name, CancellationToken ct) =>
        Measure("lookup", () => inner.LookupAsync(caller, parent, name, ct));

    public ValueTask<Result<InodeAttr>> GetAttrAsync(ulong ino, CancellationToken ct) => Measure("get_attr", () => inner.GetAttrAsync(ino, ct));

    public ValueTask<Result<InodeAttr>> SetAttrAsync(Caller caller, ulong ino, SetAttrRequest request, CancellationToken ct) =>
        Measure("set_attr", () => inner.SetAttrAsync(caller, ino, request, ct));

    public ValueTask<Errno> AccessAsync(Caller caller, ulong ino, AccessMode mode, CancellationToken ct) =>
        Measure("access", () => inner.AccessAsync(caller, ino, mode, ct));

    public ValueTask<Result<InodeAttr>> MknodAsync(Caller caller, ulong parent, string name, FileType type, uint mode, uint rdev, string? symlinkTarget, CancellationToken ct) =>
        Measure("mknod", () => inner.MknodAsync(caller, parent, name, type, mode, rdev, symlinkTarget, ct));

    public ValueTask<Result<RemovedInode>> UnlinkAsync(Caller caller, ulong parent, string name, CancellationToken ct) =>
        Measure("unlink", () => inner.UnlinkAsync(caller, parent, name, ct));

    public ValueTask<Errno> RmdirAsync(Caller caller, ulong parent, string name, CancellationToken ct) =>
        Measure("rmdir", () => inner.RmdirAsync(caller, parent, name, ct));

    public ValueTask<Result<RemovedInode?>> RenameAsync(Caller caller, ulong parent, string name, ulong newParent, string newName, RenameFlags flags, CancellationToken ct) =>
        Measure("rename", () => inner.RenameAsync(caller, parent, name, newParent, newName, flags, ct));

    public ValueTask<Result<InodeAttr>> LinkAsync(Caller caller, ulong ino, ulong newParent, string newName, CancellationToken ct) =>
        Measure("link", () => inner.LinkAsync(caller, ino, newParent, newName, ct));

    public ValueTask<Result<string>> ReadlinkAsync(ulong ino, CancellationToken ct) => Measure("readlink", () => inner.ReadlinkAsync(ino, ct));

    public ValueTask<Result<IReadOnlyList<DirEntry>>> ReadDirAsync(Caller caller, ulong ino, long afterCookie, int limit, bool plus, CancellationToken ct) =>
        Measure("readdir", () => inner.ReadDirAsync(caller, ino, afterCookie, limit, plus, ct));

    public ValueTask<Result<InodeAttr>> OpenAsync(Caller caller, long session, ulong ino, OpenFlags flags, CancellationToken ct) =>
        Measure("open", () => inner.OpenAsync(caller, session, ino, flags, ct));

    public ValueTask<Result<InodeAttr>> CreateAsync(Caller caller, long session, ulong parent, string name, uint mode, CancellationToken ct) =>
        Measure("create", () => inner.CreateAsync(caller, session, parent, name, mode, ct));

    public ValueTask<bool> CloseAsync(long session, ulong ino, CancellationToken ct) => Measure("close", () => inner.CloseAsync(session, ino, ct));

    public ValueTask<ulong> NewSliceIdAsync(CancellationToken ct) => Measure("new_slice_id", () => inner.NewSliceIdAsync(ct));

    public ValueTask<Result<IReadOnlyList<Slice>>> ReadChunkAsync(ulong ino, uint chunkIndex, CancellationToken ct) =>
        Measure("read_chunk", () => inner.ReadChunkAsync(ino, chunkIndex, ct));

    public ValueTask<Result<InodeAttr>> WriteChunkAsync(ulong ino, uint chunkIndex, Slice slice, long mtime, bool durable, CancellationToken ct) =>
        Measure("write_chunk", () => inner.WriteChunkAsync(ino, chunkIndex, slice, mtime, durable, ct));

    public ValueTask SyncAsync(CancellationToken ct) => Measure("sync", () => inner.SyncAsync(ct));

    public ValueTask<Result<InodeAttr>> FallocateAsync(Caller caller, ulong ino, FallocateMode mode, long offset, long length, CancellationToken ct) =>
        Measure("fallocate", () => inner.FallocateAsync(caller, ino, mode, offset, length, ct));

    public ValueTask<Result<long>> CopyFileRangeAsync(Caller caller, ulong src, long srcOffset, ulong dst, long dstOffset, long length, CancellationToken ct) =>
        Measure("copy_file_range", () => inner.CopyFileRangeAsync(caller, src, srcOffset, dst, dstOffset, length, ct));

    public ValueTask<bool> ReplaceSlicesAsync(ulong ino, uint chunkIndex, IReadOnlyList<Slice> expected, IReadOnlyList<Slice> replacement, CancellationToken ct) =>
        Measure("replace_slices", () => inner.ReplaceSlicesAsync(ino, chunkIndex, expected, replacement, ct));

    public ValueTask<IReadOnlyList<SliceRef>> PendingSliceDeletionsAsync(int max, CancellationToken ct) =>
        Measure("pending_slice_deletions", () => inner.PendingSliceDeletionsAsync(max, ct));

    public ValueTask ConfirmSliceDeletedAsync(ulong id, uint size, CancellationToken ct) =>
        Measure("confirm_slice_deleted", () => inner.ConfirmSliceDeletedAsync(id, size, ct));

    public ValueTask<Result<byte[]>> GetXattrAsync(Caller caller, ulong ino, string name, CancellationToken ct) =>
        Measure("get_xattr", () => inner.GetXattrAsync(caller, ino, name, ct));

    public ValueTask<Errno> SetXattrAsync(Caller caller, ulong ino, string name, ReadOnlyMemory<byte> value, XattrFlags flags, CancellationToken ct) =>
        Measure("set_xattr", () => inner.SetXattrAsync(caller, ino, name, value, flags, ct));

    public ValueTask<Result<IReadOnlyList<string>>> ListXattrAsync(Caller caller, ulong ino, CancellationToken ct) =>
        Measure("list_xattr", () => inner.ListXattrAsync(caller, ino, ct));

    public ValueTask<IReadOnlyDictionary<ulong, IReadOnlyList<Xattr>>> GetXattrsAsync(IReadOnlyList<ulong> inos, string prefix, CancellationToken ct) =>
        Measure("get_xattrs", () => inner.GetXattrsAsync(inos, prefix, ct));

    public ValueTask<Errno> RemoveXattrAsync(Caller caller, ulong ino, string name, CancellationToken ct) =>
        Measure("remove_xattr", () => inner.RemoveXattrAsync(caller, ino, name, ct));

    public ValueTask<T> UpdateLocksAsync<T>(ulong ino, Func<IReadOnlyList<LockRecord>, (IReadOnlyList<LockRecord>? Locks, T Result)> update, CancellationToken ct) =>
        Measure("update_locks", () => inner.UpdateLocksAsync(ino, update, ct));

    public ValueTask<IReadOnlyList<(ulong Ino, LockRecord Lock)>> ListLocksAsync(CancellationToken ct) => Measure("list_locks", () => inner.ListLocksAsync(ct));

    public IAsyncEnumerable<ChunkRecord> ScanChunksAsync(CancellationToken ct) => MeasureScan("scan_chunks", inner.ScanChunksAsync(ct), ct);

    public IAsyncEnumerable<SliceRef> ScanSliceRefsAsync(CancellationToken ct) => MeasureScan("scan_slice_refs", inner.ScanSliceRefsAsync(ct), ct);

    public ValueTask<IReadOnlyList<MetaIssue>> CheckAsync(bool repair, CancellationToken ct) => Measure("check", () => inner.CheckAsync(repair, ct));

    public ValueTask DestroyAsync(CancellationToken ct) => Measure("destroy", () => inner.DestroyAsync(ct));

    public IAsyncEnumerable<DumpRecord> DumpAsync(CancellationToken ct) => MeasureScan("dump", inner.DumpAsync(ct), ct);

    public ValueTask LoadAsync(IAsyncEnumerable<DumpRecord> records, CancellationToken ct) => Measure("load", () => inner.LoadAsync(records, ct));

    public ValueTask<bool> TryAcquireLeaseAsync(string name, long session, TimeSpan duration, CancellationToken ct) =>
        Measure("lease", () => inner.TryAcquireLeaseAsync(name, session, duration, ct));

    public ValueTask DisposeAsync() => inner.DisposeAsync();

    private async ValueTask<T> Measure<T>(string op, Func<ValueTask<T>> call)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException and not FsException)
        {
            metrics.MetaErrors.WithLabels(op).Increment();
            throw;
        }
        finally
        {
            metrics.MetaRequests.WithLabels(op).ObserveSince(started);
        }
    }

    private async ValueTask Measure(string op, Func<ValueTask> call)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await call().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException and not FsException)
        {
            metrics.MetaErrors.WithLabels(op).Increment();
            throw;
        }
        finally
        {
            metrics.MetaRequests.WithLabels(op).ObserveSince(started);
        }
    }

    /// <summary>A scan is timed as a whole and counted as one request, however many pages the engine reads.</summary>
    private async IAsyncEnumerable<T> MeasureScan<T>(string op, IAsyncEnumerable<T> scan, [EnumeratorCancellation] CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        var items = scan.GetAsyncEnumerator(ct);
        try
        {
            while (true)
            {
                try
                {
                    if (!await items.MoveNextAsync().ConfigureAwait(false))
                        break;
                }
                catch (Exception e) when (e is not OperationCanceledException and not FsException)
                {
                    metrics.MetaErrors.WithLabels(op).Increment();
                    throw;
                }
                yield return items.Current;
            }
        }
        finally
        {
            await items.DisposeAsync().ConfigureAwait(false);
            metrics.MetaRequests.WithLabels(op).ObserveSince(started);
        }
    }
}
