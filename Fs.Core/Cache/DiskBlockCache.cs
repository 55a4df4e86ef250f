using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Fs.Core.Cache;

/// <summary>
/// The disk tier: encoded blocks as files under a cache directory, bounded by bytes and by the free space of the
/// file system it lives on. Files hold the stored (encoded) form, so their checksum is verified on every read and an
/// encrypted volume stays encrypted at rest in the cache.
/// </summary>
internal sealed partial class DiskBlockCache
{
    private const string TempPrefix = ".tmp.";

    private readonly string _root;
    private readonly long _maxBytes;
    private readonly double _minFreeRatio;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly BlockLru<bool> _index = new();
    private long _evictions;

    public DiskBlockCache(string root, long maxBytes, double minFreeRatio, ILogger logger)
    {
        _root = Path.GetFullPath(root);
        _maxBytes = maxBytes;
        _minFreeRatio = minFreeRatio;
        _logger = logger;
        Directory.CreateDirectory(_root);
        Rebuild();
    }

    public long Bytes
    {
        get { lock (_lock) return _index.Bytes; }
    }

    public int Count
    {
        get { lock (_lock) return _index.Count; }
    }

    public long Evictions => Interlocked.Read(ref _evictions);

    /// <summary>The stored bytes of a cached block, or null when the tier does not have it.</summary>
    public async Task<byte[]?> TryReadAsync(BlockKey key, CancellationToken ct)
    {
        lock (_lock)
        {
            if (!_index.TryGet(key, out _))
                return null;
        }
        try
        {
            return await File.ReadAllBytesAsync(PathOf(key), ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            // Removed behind our back (an operator cleaning the cache): forget it and load from the store.
            Forget(key);
            return null;
        }
        catch (IOException e)
        {
            LogUnreadable(_logger, PathOf(key), e);
            Remove(key);
            return null;
        }
    }

    /// <summary>Keeps a block's stored bytes, evicting older blocks to stay within the limits; best effort.</summary>
    public async Task StoreAsync(BlockKey key, ReadOnlyMemory<byte> stored, CancellationToken ct)
    {
        if (stored.Length > _maxBytes)
            return;
        lock (_lock)
        {
            if (_index.Contains(key))
                return;
        }
        MakeRoom(stored.Length);
        if (FreeRatio() < _minFreeRatio)
            return;

        var path = PathOf(key);
        var directory = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(directory);
        // Written aside and renamed so a reader never sees a partial file; no fsync, because a file torn by a crash
        // fails its checksum and is fetched again.
        var temp = Path.Combine(directory, TempPrefix + Guid.NewGuid().ToString("N"));
        try
        {
            using (var handle = File.OpenHandle(temp, FileMode.CreateNew, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, FileOptions.None, stored.Length))
                await RandomAccess.WriteAsync(handle, stored, 0, ct).ConfigureAwait(false);
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
        lock (_lock)
            _index.Set(key, true, stored.Length);
    }

    /// <summary>Drops a block from the tier and deletes its file.</summary>
    public void Remove(BlockKey key)
    {
        Forget(key);
        TryDelete(PathOf(key));
    }

    private void Forget(BlockKey key)
    {
        lock (_lock)
            _index.Remove(key, out _);
    }

    private void MakeRoom(long incoming)
    {
        // Evict by size first, then keep evicting while the file system is short of free space.
        while (true)
        {
            BlockKey victim;
            lock (_lock)
            {
                if (_index.Bytes + incoming <= _maxBytes || !_index.TryRemoveOldest(out victim, out _))
                    break;
            }
            Evict(victim);
        }
        while (FreeRatio() < _minFreeRatio)
        {
            BlockKey victim;
            lock (_lock)
            {
                if (!_index.TryRemoveOldest(out victim, out _))
                    return;
            }
            Evict(victim);
        }
    }

    private void Evict(BlockKey victim)
    {
        TryDelete(PathOf(victim));
        Interlocked.Increment(ref _evictions);
    }

    private double FreeRatio()
    {
        var drive = new DriveInfo(_root);
        return drive.TotalSize == 0 ? 1.0 : (double)drive.AvailableFreeSpace / drive.TotalSize;
    }

    /// <summary>Indexes the files a previous process left, oldest access first, and removes its unfinished writes.</summary>
    private void Rebuild()
    {
        var found = new List<(BlockKey Key, long Bytes, DateTime Used)>();
        foreach (var file in new DirectoryInfo(_root).EnumerateFiles("*", SearchOption.AllDirectories))
        {
            if (file.Name.StartsWith(TempPrefix, StringComparison.Ordinal))
            {
                TryDelete(file.FullName);
                continue;
            }
            if (!TryParseName(file.Name, out var key) || PathOf(key) != file.FullName)
                continue;
            var used = file.LastAccessTimeUtc > file.LastWriteTimeUtc ? file.LastAccessTimeUtc : file.LastWriteTimeUtc;
            found.Add((key, file.Length, used));
        }
        found.Sort((a, b) => b.Used.CompareTo(a.Used));
        lock (_lock)
        {
            foreach (var (key, bytes, _) in found)
                _index.AddOldest(key, true, bytes);
        }
        MakeRoom(0);
        LogRebuilt(_logger, _root, Count, Bytes);
    }

    private string PathOf(BlockKey key) =>
        Path.Combine(_root, (key.SliceId % 256).ToString("x2", CultureInfo.InvariantCulture), $"{key.SliceId}_{key.Index}_{key.Size}");

    private static bool TryParseName(string name, out BlockKey key)
    {
        key = default;
        var parts = name.Split('_');
        if (parts.Length != 3
            || !ulong.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var sliceId)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            || !int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var size))
            return false;
        key = new BlockKey(sliceId, index, size);
        return true;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A file that cannot be deleted is no longer indexed; it only costs space until an operator looks.
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Disk cache file {Path} cannot be read; dropping it")]
    private static partial void LogUnreadable(ILogger logger, string path, Exception error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Disk cache {Root}: {Blocks} blocks, {Bytes} bytes found")]
    private static partial void LogRebuilt(ILogger logger, string root, int blocks, long bytes);
}
