using System.Runtime.CompilerServices;
using Microsoft.Win32.SafeHandles;

namespace Fs.Core.Objects;

/// <summary>An object store on a local directory: each object is one file, written atomically and durably.</summary>
public sealed class LocalDirectoryStore : IObjectStore
{
    /// <summary>The share mode for which .NET on Unix takes no flock(2): every object file is written once, under a private name.</summary>
    private const FileShare Unlocked = FileShare.ReadWrite | FileShare.Delete;

    /// <summary>Objects this large are written and read with direct I/O when their memory allows; smaller ones gain nothing from it.</summary>
    private const int DirectMinBytes = 256 << 10;

    /// <summary>Mode of new object files before the umask, as .NET creates files: rw for everyone.</summary>
    private const int ObjectMode = 0x1B6;

    private readonly string _root;
    private int _unsynced;
    private volatile bool _direct = true;
    private volatile bool _anonymous;

    /// <param name="root">Absolute path of the directory that holds the objects.</param>
    public LocalDirectoryStore(string root)
        : this(root, unnamedFiles: true)
    {
    }

    /// <param name="root">Absolute path of the directory that holds the objects.</param>
    /// <param name="unnamedFiles">Whether to try unnamed files (O_TMPFILE) for puts; false always writes a temp file and renames it.</param>
    internal LocalDirectoryStore(string root, bool unnamedFiles)
    {
        _anonymous = unnamedFiles && OperatingSystem.IsLinux();
        if (!Path.IsPathFullyQualified(root))
            throw new ArgumentException($"object directory must be an absolute path: '{root}'", nameof(root));
        _root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        if (_root.Length == 0)
            _root = "/";
    }

    public string Description => "file://" + _root;

    public string Root => _root;

    /// <summary>Whether puts still write unnamed files and link them (false once the file system refused, or when not asked).</summary>
    internal bool UnnamedFiles => _anonymous;

    public Task CreateAsync(CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        CreateDirectories(_root);
        return Task.CompletedTask;
    }

    public async Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        var path = PathOf(key);
        var directory = Path.GetDirectoryName(path)!;
        CreateDirectories(directory);
        // Durability is batched: one syncfs in SyncAsync covers every put before it, which costs far less than an fsync
        // (and a journal commit) per block. A block torn by a power failure before that sync fails its checksum when
        // read; it is never read as data.
        if (!_anonymous || !await TryPutAnonymousAsync(directory, path, data, ct).ConfigureAwait(false))
            await PutThroughTempAsync(directory, path, data, ct).ConfigureAwait(false);
        Volatile.Write(ref _unsynced, 1);
    }

    /// <summary>
    /// Writes the object as an unnamed file of its directory (O_TMPFILE) and links it under its name once whole: readers
    /// see all of it or none, a failure or crash leaves nothing behind, and the directory changes once (the link) instead
    /// of twice (create, rename), with the new inode allocated outside the directory's lock, which parallel puts
    /// into one directory otherwise queue on. False when the file system cannot do this (then the temp-file way is used).
    /// </summary>
    private async Task<bool> TryPutAnonymousAsync(string directory, string path, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        var fd = Libc.Open(directory, Libc.O_TMPFILE | Libc.O_WRONLY | Libc.O_CLOEXEC, ObjectMode);
        if (fd < 0)
        {
            if (Libc.LastError is Libc.EOPNOTSUPP or Libc.EISDIR or Libc.EINVAL)
            {
                _anonymous = false;
                return false;
            }
            throw Libc.Failure($"creating an object file in '{directory}'");
        }
        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        await WriteWholeAsync(handle, data, ct).ConfigureAwait(false);
        var unnamed = $"/proc/self/fd/{fd}";
        if (Libc.LinkAt(Libc.AT_FDCWD, unnamed, Libc.AT_FDCWD, path, Libc.AT_SYMLINK_FOLLOW) == 0)
            return true;
        var errno = Libc.LastError;
        if (errno == Libc.EEXIST)
        {
            // A put over an existing object (blocks are written once; this is a retry): link under a private name and
            // rename that over the old one, which replaces it atomically.
            var temp = TempName(directory);
            if (Libc.LinkAt(Libc.AT_FDCWD, unnamed, Libc.AT_FDCWD, temp, Libc.AT_SYMLINK_FOLLOW) != 0)
                throw Libc.Failure($"linking object file '{temp}'");
            try
            {
                File.Move(temp, path, overwrite: true);
            }
            catch
            {
                TryDelete(temp);
                throw;
            }
            return true;
        }
        if (errno == Libc.ENOENT && !Directory.Exists("/proc/self/fd"))
        {
            // Without /proc an unnamed file cannot be linked: this put and later ones take the temp-file way.
            _anonymous = false;
            return false;
        }
        throw Libc.Failure($"linking object file '{path}'");
    }

    /// <summary>Writes a private temp file and renames it over the final name: a crash leaves at most a temp file, never listed.</summary>
    private async Task PutThroughTempAsync(string directory, string path, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        var temp = TempName(directory);
        try
        {
            // The temp name is private and objects are immutable: no share mode, so .NET takes no advisory flock per file.
            using (var handle = File.OpenHandle(temp, FileMode.CreateNew, FileAccess.Write, Unlocked, FileOptions.None, data.Length))
                await WriteWholeAsync(handle, data, ct).ConfigureAwait(false);
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            // A full disk or a cancelled write must not leave a partial file behind.
            TryDelete(temp);
            throw;
        }
    }

    private async Task WriteWholeAsync(SafeFileHandle handle, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        if (data.Length < DirectMinBytes)
        {
            // A small object is written on the caller's thread, like the open and the link around it: a hop to another
            // thread for a write of a few pages into the page cache costs more than the write.
            RandomAccess.Write(handle, data.Span, 0);
            return;
        }
        if (!_direct || !await TryDirectAsync(() => DirectIo.Write(handle, data), ct).ConfigureAwait(false))
            await RandomAccess.WriteAsync(handle, data, 0, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs a direct read or write of a whole object on a transfer thread (it blocks until the disk is done; see
    /// <see cref="BlockingIoThreads"/>); false when it could not be done that way, and direct I/O stops for good where the
    /// file system refuses it.
    /// </summary>
    private async Task<bool> TryDirectAsync(Func<DirectIoOutcome> transfer, CancellationToken ct)
    {
        var outcome = await BlockingIoThreads.Shared.RunAsync(transfer, ct).ConfigureAwait(false);
        if (outcome == DirectIoOutcome.Unsupported)
            _direct = false;
        return outcome == DirectIoOutcome.Done;
    }

    public Task SyncAsync(CancellationToken ct)
    {
        // Taken before syncing: a put finishing during the sync marks the store again and the next sync covers it.
        if (Interlocked.Exchange(ref _unsynced, 0) == 0)
            return Task.CompletedTask;
        return Task.Run(() =>
        {
            try
            {
                DirectorySync.FlushFileSystem(Root);
            }
            catch
            {
                Volatile.Write(ref _unsynced, 1);
                throw;
            }
        }, ct);
    }

    public async Task<byte[]> GetAsync(string key, CancellationToken ct)
    {
        var path = PathOf(key);
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, Unlocked, FileOptions.SequentialScan);
            var length = RandomAccess.GetLength(handle);
            if (length > Array.MaxLength)
                throw new IOException($"object {key} is too large to read at once ({length} bytes)");
            // Not zeroed first: every byte is read from the file below (a short file fails instead).
            var data = GC.AllocateUninitializedArray<byte>((int)length);
            await ReadWholeAsync(handle, key, data, ct).ConfigureAwait(false);
            return data;
        }
        catch (Exception e) when (IsMissing(e, path))
        {
            throw new ObjectNotFoundException(key);
        }
    }

    public async Task<int> GetAsync(string key, Memory<byte> destination, CancellationToken ct)
    {
        var path = PathOf(key);
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, Unlocked, FileOptions.SequentialScan);
            var length = RandomAccess.GetLength(handle);
            if (length > destination.Length)
                throw new CorruptObjectException(key, $"object is {length} bytes, more than the {destination.Length} it can be");
            var target = destination[..(int)length];
            // A block read whole goes from the disk into the cache's memory directly: through the page cache it would be
            // copied once more, and the cache keeps it anyway.
            if (!_direct || length < DirectMinBytes || !await TryDirectAsync(() => DirectIo.Read(handle, destination, (int)length), ct).ConfigureAwait(false))
                await ReadWholeAsync(handle, key, target, ct).ConfigureAwait(false);
            return (int)length;
        }
        catch (Exception e) when (IsMissing(e, path))
        {
            throw new ObjectNotFoundException(key);
        }
    }

    private static async Task ReadWholeAsync(SafeFileHandle handle, string key, Memory<byte> target, CancellationToken ct)
    {
        var done = 0;
        while (done < target.Length)
        {
            var read = await RandomAccess.ReadAsync(handle, target[done..], done, ct).ConfigureAwait(false);
            if (read == 0)
                throw new IOException($"object {key} shrank while being read");
            done += read;
        }
    }

    private static bool IsMissing(Exception e, string path) =>
        e is FileNotFoundException or DirectoryNotFoundException || (e is UnauthorizedAccessException && Directory.Exists(path));

    public Task DeleteAsync(string key, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var path = PathOf(key);
        try
        {
            File.Delete(path);
        }
        catch (DirectoryNotFoundException)
        {
            // Nothing was ever stored under this prefix.
        }
        return Task.CompletedTask;
    }

    public Task<long?> HeadAsync(string key, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var file = new FileInfo(PathOf(key));
        return Task.FromResult<long?>(file.Exists ? file.Length : null);
    }

    public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken ct)
    {
        ObjectKeys.ValidatePrefix(prefix);
        // Directory scans block; leave the caller's thread before the first one.
        await Task.Yield();
        foreach (var info in ListDirectory(_root, "", prefix, ct))
            yield return info;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>
    /// Walks a directory in key order. Entries are sorted by the key text they contribute (a subdirectory as
    /// "name/"), so a depth-first walk yields keys in ordinal order without collecting the whole tree.
    /// </summary>
    private static IEnumerable<ObjectInfo> ListDirectory(string directory, string keyPrefix, string prefix, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        FileSystemInfo[] entries;
        try
        {
            entries = new DirectoryInfo(directory).GetFileSystemInfos();
        }
        catch (DirectoryNotFoundException)
        {
            yield break;
        }

        var named = new List<(string Key, FileSystemInfo Entry)>(entries.Length);
        foreach (var entry in entries)
        {
            if (entry.Name.StartsWith(ObjectKeys.TempPrefix, StringComparison.Ordinal))
                continue;
            var isDirectory = (entry.Attributes & FileAttributes.Directory) != 0;
            var key = keyPrefix + entry.Name + (isDirectory ? "/" : "");
            var relevant = isDirectory
                ? key.StartsWith(prefix, StringComparison.Ordinal) || prefix.StartsWith(key, StringComparison.Ordinal)
                : key.StartsWith(prefix, StringComparison.Ordinal);
            if (relevant)
                named.Add((key, entry));
        }
        named.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));

        foreach (var (key, entry) in named)
        {
            if (entry is DirectoryInfo)
            {
                foreach (var info in ListDirectory(entry.FullName, key, prefix, ct))
                    yield return info;
            }
            else if (entry is FileInfo file)
            {
                // A file deleted between listing and stat is simply gone.
                file.Refresh();
                if (file.Exists)
                    yield return new ObjectInfo(key, file.Length, file.LastWriteTimeUtc);
            }
        }
    }

    private string PathOf(string key)
    {
        ObjectKeys.Validate(key);
        return _root == "/" ? "/" + key : _root + "/" + key;
    }

    /// <summary>Creates missing directories and makes each new entry durable in its parent.</summary>
    private static void CreateDirectories(string directory)
    {
        if (Directory.Exists(directory))
            return;
        var missing = new Stack<string>();
        for (var current = directory; current is not null && !Directory.Exists(current); current = Path.GetDirectoryName(current))
            missing.Push(current);
        Directory.CreateDirectory(directory);
        foreach (var created in missing)
            DirectorySync.Flush(Path.GetDirectoryName(created)!);
    }

    /// <summary>A private name in <paramref name="directory"/> that listings skip.</summary>
    private static string TempName(string directory) => Path.Combine(directory, ObjectKeys.TempPrefix + Guid.NewGuid().ToString("N"));

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The original failure is what the caller needs to see; a leftover temp file is never listed.
        }
    }
}
