using System.Diagnostics;
using Fs.Core.Chunks;
using Fs.Core.Metrics;
using Fs.Core.Objects;
using Microsoft.Extensions.Logging;

namespace Fs.Core.Vfs;

public sealed partial class FileSystem
{
    /// <summary>Bytes a single file may hold in write buffers before its writer waits for uploads.</summary>
    private const long MaxBufferedPerFile = 256L << 20;

    /// <summary>Creates and opens a regular file. With <see cref="OpenFlags.Exclusive"/> an existing name is EEXIST; without, an existing file is opened (and truncated with <see cref="OpenFlags.Truncate"/>).</summary>
    public ValueTask<Result<(InodeAttr Attr, FileHandle Handle)>> CreateAsync(Caller caller, ulong parent, string name, uint mode, OpenFlags flags, CancellationToken ct = default) =>
        Guard<(InodeAttr, FileHandle)>("create", parent, async () =>
        {
            // The engine records the open with the creation, so a new file costs one metadata round trip, not two.
            var created = await _meta.CreateAsync(caller, Session, parent, name, mode, ct).ConfigureAwait(false);
            if (created.Ok)
            {
                Notify(ChangeKind.EntryAdded, created.Value.Ino, parent, name);
                Notify(ChangeKind.Attributes, parent);
                var handle = AddHandle(created.Value.Ino, flags & ~OpenFlags.Truncate, caller);
                // The new file's mode is known: without setuid or setgid bits its first write has nothing to drop, and
                // needs no look-up to find that out. (Only its creator holds this handle; a bit the creator sets later
                // is one the creator could set after writing just as well.)
                if (caller.IsRoot || (created.Value.Mode & (InodeAttr.SetUid | InodeAttr.SetGid)) == 0)
                    handle.PrivilegesDropped = true;
                return (created.Value, handle);
            }
            if (created.Error != Errno.EEXIST || (flags & OpenFlags.Exclusive) != 0)
                return created.Error;
            var existing = await _meta.LookupAsync(caller, parent, name, ct).ConfigureAwait(false);
            if (!existing.Ok)
                return existing.Error;
            if (existing.Value.Type == FileType.Directory)
                return Errno.EISDIR;
            var opened = await OpenHandleAsync(caller, caller, existing.Value.Ino, flags, ct).ConfigureAwait(false);
            if (!opened.Ok)
                return opened.Error;
            var attr = await _meta.GetAttrAsync(existing.Value.Ino, ct).ConfigureAwait(false);
            return attr.Ok ? (Overlay(attr.Value), opened.Value) : attr.Error;
        });

    public ValueTask<Result<FileHandle>> OpenAsync(Caller caller, ulong ino, OpenFlags flags, CancellationToken ct = default) =>
        Guard("open", ino, () => OpenHandleAsync(caller, caller, ino, flags, ct));

    /// <summary>Reads up to buffer.Length bytes at offset; returns the count (0 at or past end of file).</summary>
    public ValueTask<Result<int>> ReadAsync(FileHandle handle, long offset, Memory<byte> buffer, CancellationToken ct = default) =>
        Measured("read", handle.Ino, Stopwatch.GetTimestamp(), ReadCoreAsync(handle, offset, buffer, ct));

    private async ValueTask<Result<int>> ReadCoreAsync(FileHandle handle, long offset, Memory<byte> buffer, CancellationToken ct)
    {
        var size = await BeginReadAsync(handle, offset, ct).ConfigureAwait(false);
        if (!size.Ok)
            return size.Error;
        try
        {
            var n = await _reader.ReadAsync(handle.Ino, offset, buffer, size.Value, ct).ConfigureAwait(false);
            await EndReadAsync(handle, offset, n, size.Value, ct).ConfigureAwait(false);
            return n;
        }
        catch (Exception e)
        {
            return Fail("read", handle.Ino, e);
        }
    }

    /// <summary>
    /// Reads up to <paramref name="count"/> bytes at offset as a view of the block cache's memory, for a door that sends
    /// the bytes on without copying them (see <see cref="ReadView"/>); the caller disposes the view. Same rules and
    /// results as <see cref="ReadAsync"/>: an empty view at or past end of file.
    /// </summary>
    public ValueTask<Result<ReadView>> ReadViewAsync(FileHandle handle, long offset, int count, CancellationToken ct = default) =>
        Measured("read", handle.Ino, Stopwatch.GetTimestamp(), ReadViewCoreAsync(handle, offset, count, ct));

    private async ValueTask<Result<ReadView>> ReadViewCoreAsync(FileHandle handle, long offset, int count, CancellationToken ct)
    {
        var size = await BeginReadAsync(handle, offset, ct).ConfigureAwait(false);
        if (!size.Ok)
            return size.Error;
        try
        {
            var view = await _reader.ReadViewAsync(handle.Ino, offset, count, size.Value, ct).ConfigureAwait(false);
            try
            {
                await EndReadAsync(handle, offset, view.Length, size.Value, ct).ConfigureAwait(false);
            }
            catch
            {
                view.Dispose();
                throw;
            }
            return view;
        }
        catch (Exception e)
        {
            return Fail("read", handle.Ino, e).Error;
        }
    }

    /// <summary>Checks a read and makes this handle's own buffered writes visible to it; returns the file's size.</summary>
    private async ValueTask<Result<long>> BeginReadAsync(FileHandle handle, long offset, CancellationToken ct)
    {
        if (handle.Released || !handle.CanRead)
            return Errno.EBADF;
        if (offset < 0)
            return Errno.EINVAL;
        try
        {
            if (_writers.TryGetValue(handle.Ino, out var writer) && writer.HasPending)
                await CommitAsync(writer, durable: false, ct).ConfigureAwait(false);
            var attr = await _meta.GetAttrAsync(handle.Ino, ct).ConfigureAwait(false);
            if (!attr.Ok)
                return attr.Error;
            if (attr.Value.Type == FileType.Directory)
                return Errno.EISDIR;
            return attr.Value.Size;
        }
        catch (Exception e)
        {
            return Fail("read", handle.Ino, e).Error;
        }
    }

    private async ValueTask EndReadAsync(FileHandle handle, long offset, int n, long size, CancellationToken ct)
    {
        await ReadAheadAsync(handle, offset, n, size, ct).ConfigureAwait(false);
        _metrics.BytesRead.WithLabels(CurrentDoor).Add(n);
    }

    /// <summary>Writes at offset (at end of file for O_APPEND handles); buffered until flush/fsync/release.</summary>
    public ValueTask<Result<int>> WriteAsync(FileHandle handle, long offset, ReadOnlyMemory<byte> data, CancellationToken ct = default) =>
        Measured("write", handle.Ino, Stopwatch.GetTimestamp(), WriteCoreAsync(handle, offset, data, ct));

    private async ValueTask<Result<int>> WriteCoreAsync(FileHandle handle, long offset, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        if (handle.Released || !handle.CanWrite)
            return Errno.EBADF;
        if (offset < 0)
            return Errno.EINVAL;
        if (data.IsEmpty)
            return 0;
        if (!_writers.TryGetValue(handle.Ino, out var writer))
            return Errno.EBADF;
        await writer.Lock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var limited = Format.CapacityBytes > 0;
            if ((handle.Flags & OpenFlags.Append) != 0 || !handle.PrivilegesDropped || limited)
            {
                var attr = await _meta.GetAttrAsync(handle.Ino, ct).ConfigureAwait(false);
                if (!attr.Ok)
                    return attr.Error;
                if ((handle.Flags & OpenFlags.Append) != 0)
                    offset = Math.Max(attr.Value.Size, writer.PendingLength);
                if (!handle.PrivilegesDropped)
                {
                    await DropPrivilegesAsync(handle, attr.Value, ct).ConfigureAwait(false);
                    handle.PrivilegesDropped = true;
                }
                writer.StoredLength = attr.Value.Size;
            }
            if (offset + data.Length > FsLimits.MaxFileSize)
                return Errno.EFBIG;
            if (limited)
            {
                var room = await CheckCapacityAsync(Math.Max(writer.StoredLength, writer.PendingLength), offset + data.Length, ct).ConfigureAwait(false);
                if (room != Errno.OK)
                    return room;
            }
            await writer.WriteAsync(offset, data, ct).ConfigureAwait(false);
            Notify(ChangeKind.Data, handle.Ino, offset: offset, length: data.Length);
            _metrics.BytesWritten.WithLabels(CurrentDoor).Add(data.Length);
            return data.Length;
        }
        catch (Exception e)
        {
            return Fail("write", handle.Ino, e);
        }
        finally
        {
            writer.Lock.Release();
        }
    }

    /// <summary>Commits buffered writes of the file to metadata (visible to every appliance).</summary>
    public ValueTask<Errno> FlushAsync(FileHandle handle, CancellationToken ct = default) =>
        Measured("flush", handle.Ino, Stopwatch.GetTimestamp(), FlushCoreAsync(handle, ct));

    private async ValueTask<Errno> FlushCoreAsync(FileHandle handle, CancellationToken ct)
    {
        if (handle.Released)
            return Errno.EBADF;
        if (!_writers.TryGetValue(handle.Ino, out var writer) || !writer.HasPending)
            return Errno.OK;
        try
        {
            await CommitAsync(writer, durable: false, ct).ConfigureAwait(false);
            return Errno.OK;
        }
        catch (Exception e)
        {
            return Fail("flush", handle.Ino, e).Error;
        }
    }

    /// <summary>Commits buffered writes and makes them durable.</summary>
    public ValueTask<Errno> FsyncAsync(FileHandle handle, bool dataOnly = false, CancellationToken ct = default) =>
        Measured("fsync", handle.Ino, Stopwatch.GetTimestamp(), FsyncCoreAsync(handle, ct));

    private async ValueTask<Errno> FsyncCoreAsync(FileHandle handle, CancellationToken ct)
    {
        if (handle.Released)
            return Errno.EBADF;
        try
        {
            if (_writers.TryGetValue(handle.Ino, out var writer))
                await CommitAsync(writer, durable: true, ct).ConfigureAwait(false);
            else
                await _meta.SyncAsync(ct).ConfigureAwait(false);
            return Errno.OK;
        }
        catch (Exception e)
        {
            return Fail("fsync", handle.Ino, e).Error;
        }
    }

    /// <summary>Flushes and closes the handle. POSIX locks are the door's to release (it knows the lock owner).</summary>
    public ValueTask<Errno> ReleaseAsync(FileHandle handle, CancellationToken ct = default) =>
        Measured("release", handle.Ino, Stopwatch.GetTimestamp(), ReleaseCoreAsync(handle, ct));

    private async ValueTask<Errno> ReleaseCoreAsync(FileHandle handle, CancellationToken ct)
    {
        if (!_handles.TryRemove(handle.Id, out _))
            return Errno.EBADF;
        handle.Released = true;
        var result = Errno.OK;
        if (_writers.TryGetValue(handle.Ino, out var writer))
        {
            await writer.Lock.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            try
            {
                if (writer.HasPending)
                {
                    await writer.CommitAsync(durable: false, ct).ConfigureAwait(false);
                    if (writer.LastCommitted is { } committed)
                        handle.ReleasedAttr = Overlay(committed);
                }
            }
            catch (Exception e)
            {
                result = Fail("release", handle.Ino, e).Error;
            }
            finally
            {
                writer.Lock.Release();
                ReleaseWriter(writer);
            }
        }
        try
        {
            // Most closes delete nothing: waking the deleter for each would cost a query of the engine per close.
            if (await _meta.CloseAsync(Session, handle.Ino, CancellationToken.None).ConfigureAwait(false))
                _deleter.Wake();
        }
        catch (Exception e)
        {
            _logger.LogError(e, "closing inode {Ino} in the metadata engine failed", handle.Ino);
            result = Errno.EIO;
        }
        return result;
    }

    public ValueTask<Errno> FallocateAsync(FileHandle handle, FallocateMode mode, long offset, long length, CancellationToken ct = default) =>
        Measured("fallocate", handle.Ino, Stopwatch.GetTimestamp(), FallocateCoreAsync(handle, mode, offset, length, ct));

    private async ValueTask<Errno> FallocateCoreAsync(FileHandle handle, FallocateMode mode, long offset, long length, CancellationToken ct)
    {
        if (handle.Released || !handle.CanWrite)
            return Errno.EBADF;
        if (!_writers.TryGetValue(handle.Ino, out var writer))
            return Errno.EBADF;
        await writer.Lock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            await writer.CommitAsync(durable: false, ct).ConfigureAwait(false);
            var result = await _meta.FallocateAsync(handle.Caller, handle.Ino, mode, offset, length, ct).ConfigureAwait(false);
            if (result.Ok)
            {
                ConsiderCompaction(handle.Ino, offset, length);
                Notify(ChangeKind.Data, handle.Ino, offset: offset, length: length);
                Notify(ChangeKind.Attributes, handle.Ino);
            }
            return result.Error;
        }
        catch (Exception e)
        {
            return Fail("fallocate", handle.Ino, e).Error;
        }
        finally
        {
            writer.Lock.Release();
        }
    }

    /// <summary>Copies a range by sharing slices; returns bytes copied (short at end of source).</summary>
    public ValueTask<Result<long>> CopyFileRangeAsync(FileHandle source, long sourceOffset, FileHandle destination, long destinationOffset, long length, CancellationToken ct = default) =>
        Measured("copy_file_range", destination.Ino, Stopwatch.GetTimestamp(), CopyFileRangeCoreAsync(source, sourceOffset, destination, destinationOffset, length, ct));

    private async ValueTask<Result<long>> CopyFileRangeCoreAsync(FileHandle source, long sourceOffset, FileHandle destination, long destinationOffset, long length, CancellationToken ct)
    {
        if (source.Released || destination.Released || !source.CanRead || !destination.CanWrite)
            return Errno.EBADF;
        if (sourceOffset < 0 || destinationOffset < 0 || length < 0)
            return Errno.EINVAL;
        try
        {
            if (_writers.TryGetValue(source.Ino, out var sourceWriter) && sourceWriter.HasPending)
                await CommitAsync(sourceWriter, durable: false, ct).ConfigureAwait(false);
            if (!_writers.TryGetValue(destination.Ino, out var writer))
                return Errno.EBADF;
            await writer.Lock.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                await writer.CommitAsync(durable: false, ct).ConfigureAwait(false);
                var copied = await _meta.CopyFileRangeAsync(destination.Caller, source.Ino, sourceOffset, destination.Ino, destinationOffset, length, ct).ConfigureAwait(false);
                if (copied.Ok && copied.Value > 0)
                {
                    ConsiderCompaction(destination.Ino, destinationOffset, copied.Value);
                    Notify(ChangeKind.Data, destination.Ino, offset: destinationOffset, length: copied.Value);
                    Notify(ChangeKind.Attributes, destination.Ino);
                }
                return copied;
            }
            finally
            {
                writer.Lock.Release();
            }
        }
        catch (Exception e)
        {
            return Fail("copy_file_range", destination.Ino, e).Error;
        }
    }

    private async ValueTask<Result<FileHandle>> OpenHandleAsync(Caller checkAs, Caller owner, ulong ino, OpenFlags flags, CancellationToken ct)
    {
        var opened = await _meta.OpenAsync(checkAs, Session, ino, flags, ct).ConfigureAwait(false);
        if (!opened.Ok)
            return opened.Error;
        var handle = AddHandle(ino, flags, owner);
        if ((flags & OpenFlags.Truncate) != 0 && opened.Value.Type == FileType.Regular && handle.CanWrite)
        {
            var truncated = await SetAttrAsync(Caller.Root, ino, new SetAttrRequest(SetAttrMask.Size, Size: 0), ct).ConfigureAwait(false);
            if (!truncated.Ok)
            {
                await ReleaseAsync(handle, ct).ConfigureAwait(false);
                return truncated.Error;
            }
        }
        return handle;
    }

    /// <summary>A handle for an inode the engine has just recorded as open by this session.</summary>
    private FileHandle AddHandle(ulong ino, OpenFlags flags, Caller owner)
    {
        var handle = new FileHandle(Interlocked.Increment(ref _nextHandle), ino, flags, owner);
        AcquireWriter(ino);
        _handles[handle.Id] = handle;
        return handle;
    }

    /// <summary>Every handle of an inode in this process shares one writer; it lives while any handle is open.</summary>
    private void AcquireWriter(ulong ino)
    {
        lock (_writers)
        {
            if (!_writers.TryGetValue(ino, out var writer))
            {
                writer = new FileWriter(ino, _meta, _cache, _cache.Buffers, _layout, MaxBufferedPerFile, ConsiderCompaction);
                _writers[ino] = writer;
            }
            writer.OpenHandles++;
        }
    }

    private void ReleaseWriter(FileWriter writer)
    {
        lock (_writers)
        {
            if (--writer.OpenHandles == 0)
                _writers.TryRemove(writer.Ino, out _);
        }
    }

    private async ValueTask CommitAsync(FileWriter writer, bool durable, CancellationToken ct)
    {
        await writer.Lock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            await writer.CommitAsync(durable, ct).ConfigureAwait(false);
        }
        finally
        {
            writer.Lock.Release();
        }
    }

    /// <summary>A write by someone other than root clears setuid, and setgid where group execute makes it a real setgid.</summary>
    private async ValueTask DropPrivilegesAsync(FileHandle handle, InodeAttr attr, CancellationToken ct)
    {
        if (handle.Caller.IsRoot)
            return;
        var mode = attr.Mode & ~InodeAttr.SetUid;
        if ((attr.Mode & 0x8) != 0)
            mode &= ~InodeAttr.SetGid;
        if (mode == attr.Mode)
            return;
        var result = await _meta.SetAttrAsync(Caller.Root, handle.Ino, new SetAttrRequest(SetAttrMask.Mode, Mode: mode), ct).ConfigureAwait(false);
        if (!result.Ok)
            throw new FsException(result.Error);
    }

    private async ValueTask ReadAheadAsync(FileHandle handle, long offset, int n, long size, CancellationToken ct)
    {
        if (n <= 0 || _options.ReadAheadBlocks <= 0)
            return;
        var end = offset + n;
        var window = (long)_options.ReadAheadBlocks * _layout.BlockSize;
        // Doors read in parallel (the FUSE kernel's own read-ahead, NFS clients), so requests of one sequential reader
        // arrive a little out of order: anything near the last read counts as sequential.
        var nearby = handle.LastReadEnd >= 0 && Math.Abs(offset - handle.LastReadEnd) <= 2L * _layout.BlockSize;
        handle.SequentialBytes = nearby ? handle.SequentialBytes + n : n;
        handle.LastReadEnd = nearby ? Math.Max(handle.LastReadEnd, end) : end;
        if (!nearby)
            handle.PrefetchedUpTo = 0;
        if (handle.SequentialBytes < 2L * n && offset != 0)
            return;
        // Ask for more only when the reader has used up half of the window, so most reads cost no metadata look-up.
        if (end + window / 2 <= handle.PrefetchedUpTo)
            return;
        var from = Math.Max(end, handle.PrefetchedUpTo);
        handle.PrefetchedUpTo = end + window;
        await _reader.PrefetchAsync(handle.Ino, from, end + window - from, size, ct).ConfigureAwait(false);
    }

    private void ConsiderCompaction(ulong ino, uint chunk) => _compactor.Consider(ino, chunk);

    private void ConsiderCompaction(ulong ino, long offset, long length)
    {
        if (length <= 0)
            return;
        for (var c = ChunkLayout.ChunkIndex(offset); c <= ChunkLayout.ChunkIndex(offset + length - 1); c++)
            _compactor.Consider(ino, c);
    }

    /// <summary>Maps an exception from the engines to the errno the caller gets, logging the ones that are the appliance's fault.</summary>
    private Result<int> Fail(string op, ulong ino, Exception e)
    {
        var door = CurrentDoor;
        var client = CurrentClient.Value ?? "-";
        switch (e)
        {
            case FsException fs:
                return fs.Errno;
            case OperationCanceledException:
                return Errno.EINTR;
            case ObjectNotFoundException or CorruptObjectException:
                LogFailure(door, op, ino, client, e.Message);
                return Errno.EIO;
            case IOException io when io.HResult == 28 || io.Message.Contains("No space left", StringComparison.Ordinal):
                LogFailure(door, op, ino, client, "no space left in the object store: " + e.Message);
                return Errno.ENOSPC;
            default:
                LogFailure(e, door, op, ino, client);
                return Errno.EIO;
        }
    }
}
