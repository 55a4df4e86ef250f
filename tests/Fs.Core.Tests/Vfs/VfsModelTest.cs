using System.Globalization;
using Fs.Core.Vfs;
using Xunit.Abstractions;

namespace Fs.Core.Tests.Vfs;

/// <summary>
/// Random operations applied to a volume and to an in-memory model, compared after every step. A failure names the seed;
/// set APPLIANCE_TEST_SEED to it to replay the same run.
/// </summary>
public abstract class VfsModelTest(ITestOutputHelper output)
{
    private const int Steps = 10_000;

    /// <summary>Formats a volume in <paramref name="tempDir"/> and opens it.</summary>
    protected abstract Task<FileSystem> OpenFileSystemAsync(string tempDir, int blockSize, int compactThreshold);

    [Theory]
    [InlineData(4 << 20, 64, 12 << 20)]
    [InlineData(64 << 10, 4, 3 << 20)]
    public async Task Random_operations_match_the_model(int blockSize, int compactThreshold, int maxFileSize)
    {
        var seed = Environment.GetEnvironmentVariable("APPLIANCE_TEST_SEED") is { Length: > 0 } fixedSeed
            ? int.Parse(fixedSeed, CultureInfo.InvariantCulture)
            : Random.Shared.Next();
        output.WriteLine($"APPLIANCE_TEST_SEED={seed} (block size {blockSize}, compact threshold {compactThreshold}, files up to {maxFileSize} bytes)");

        var dir = Path.Combine(Path.GetTempPath(), "appliance-model-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var fs = await OpenFileSystemAsync(dir, blockSize, compactThreshold);
            try
            {
                var driver = new ModelDriver(fs, seed, blockSize, maxFileSize);
                await driver.RunAsync(Steps);
                output.WriteLine(driver.Summary);
            }
            finally
            {
                await fs.DisposeAsync();
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

/// <summary>Drives one random run: picks an operation, predicts its outcome from the model, applies it to both, compares.</summary>
internal sealed class ModelDriver
{
    private const int TreeCheckInterval = 1000;
    private const int MaxFiles = 24;
    private const int MaxHandles = 12;
    private const int MaxDepth = 3;
    private const int WholeFileCheckBytes = 128 * 1024;
    private const int ReadPiece = 1 << 20;
    private static readonly string[] Names = ["a", "b", "c", "d", "e", "f"];
    private static readonly Caller User = Caller.Root;
    private const uint FileMode = 0b110_100_100;
    private const uint DirectoryMode = 0b111_101_101;

    private readonly FileSystem _fs;
    private readonly Random _random;
    private long _reads;
    private readonly int _seed;
    private readonly int _blockSize;
    private readonly long _maxFileSize;
    private readonly byte[] _pool;
    private readonly ModelInode _root = new(FsLimits.RootIno, FileType.Directory);
    private readonly List<(FileHandle Handle, ModelInode Node)> _handles = [];
    private readonly Queue<string> _recent = new();
    private readonly Dictionary<string, int> _counts = [];
    private readonly byte[] _expectedBuffer = new byte[ReadPiece];
    private readonly byte[] _actualBuffer = new byte[ReadPiece];
    private long _bytesWritten;
    private int _step;
    private string _operation = "start";

    public ModelDriver(FileSystem fs, int seed, int blockSize, long maxFileSize)
    {
        _fs = fs;
        _seed = seed;
        _random = new Random(seed);
        _blockSize = blockSize;
        _maxFileSize = maxFileSize;
        // Writes take slices of this at random offsets: cheap to produce, and no two writes look alike.
        _pool = new byte[3 * blockSize + (1 << 20)];
        _random.NextBytes(_pool);
    }

    public string Summary =>
        $"{_step} steps, {_bytesWritten} bytes written; " + string.Join(", ", _counts.OrderBy(c => c.Key).Select(c => $"{c.Key} {c.Value}"));

    public async Task RunAsync(int steps)
    {
        try
        {
            for (_step = 1; _step <= steps; _step++)
            {
                await StepAsync();
                if (_step % TreeCheckInterval == 0)
                {
                    Describe("whole-tree check");
                    await CheckTreeAsync();
                }
            }
            _step = steps;
            foreach (var (handle, node) in _handles.ToList())
                await ReleaseAsync(handle, node);
            Describe("final whole-tree check");
            await CheckTreeAsync();
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            // An exception instead of an errno is a failure too; it needs the seed as much as a wrong answer does.
            throw new InvalidOperationException(Context($"threw {e.GetType().Name}: {e.Message}"), e);
        }
    }

    private async Task StepAsync()
    {
        var files = Files().ToList();
        var roll = _random.Next(100);
        switch (roll)
        {
            case < 25 when _handles.Count > 0:
                await WriteAsync(Pick(_handles));
                break;
            case < 35 when _handles.Count > 0:
                await ReadAsync(Pick(_handles));
                break;
            case < 42 when files.Count < MaxFiles:
                await CreateAsync(Pick(Directories()), Pick(Names));
                break;
            case < 47 when files.Count > 0 && _handles.Count < MaxHandles:
                await OpenAsync(Pick(files));
                break;
            case < 53 when _handles.Count > 0:
                var (handle, node) = Pick(_handles);
                await ReleaseAsync(handle, node);
                break;
            case < 56 when _handles.Count > 0:
                await FlushAsync(Pick(_handles), fsync: false);
                break;
            case < 58 when _handles.Count > 0:
                await FlushAsync(Pick(_handles), fsync: true);
                break;
            case < 64 when files.Count > 0 || _handles.Count > 0:
                await TruncateAsync(Pick(LiveFiles().ToList()));
                break;
            case < 67 when _handles.Count > 0:
                await FallocateAsync(Pick(_handles));
                break;
            case < 70 when _handles.Count > 0:
                await PunchHoleAsync(Pick(_handles));
                break;
            case < 77 when Entries().Any():
                await RenameAsync(Pick(Entries().ToList()), Pick(Directories()), Pick(Names));
                break;
            case < 81 when files.Count > 0:
                await LinkAsync(Pick(files), Pick(Directories()), Pick(Names));
                break;
            case < 88 when Entries().Any():
                await UnlinkAsync(PickRemovalCandidate(files.Count >= MaxFiles));
                break;
            case < 92 when Directories().Count < 12:
                await MkdirAsync(Pick(Directories().Where(d => d.Depth < MaxDepth).ToList()), Pick(Names));
                break;
            case < 96 when Entries().Any():
                await RmdirAsync(Pick(Entries().ToList()));
                break;
            default:
                if (files.Count < MaxFiles)
                    await CreateAsync(Pick(Directories()), Pick(Names));
                else
                    await UnlinkAsync(PickRemovalCandidate(preferFiles: true));
                break;
        }
    }

    // ---- operations ----

    private async Task CreateAsync(ModelInode dir, string name)
    {
        var exclusive = _random.Next(4) != 0;
        var truncate = !exclusive && _random.Next(3) == 0;
        var flags = OpenFlags.ReadWrite | OpenFlags.Create | (exclusive ? OpenFlags.Exclusive : 0) | (truncate ? OpenFlags.Truncate : 0);
        Describe($"create {PathOf(dir)}/{name} {flags}");
        dir.Children.TryGetValue(name, out var existing);
        var expected = existing switch
        {
            null => Errno.OK,
            _ when exclusive => Errno.EEXIST,
            { IsDirectory: true } => Errno.EISDIR,
            _ => Errno.OK,
        };

        var result = await _fs.CreateAsync(User, dir.Ino, name, FileMode, flags);
        Check(result.Error == expected, $"create returned {result.Error}, model expects {expected}");
        if (!result.Ok)
            return;

        var (attr, handle) = result.Value;
        ModelInode node;
        if (existing is null)
        {
            node = new ModelInode(attr.Ino, FileType.Regular) { Links = 1 };
            dir.Children[name] = node;
        }
        else
        {
            node = existing;
            Check(attr.Ino == node.Ino, $"create of an existing name opened inode {attr.Ino}, model has {node.Ino}");
            if (truncate)
                node.Content.Resize(0);
        }
        node.OpenCount++;
        _handles.Add((handle, node));
        await CheckFileAsync(node, 0, 0);
        await CheckNameAsync(dir, name);
        if (_random.Next(2) == 0)
            await ReleaseAsync(handle, node);
    }

    private async Task OpenAsync(ModelInode node)
    {
        Describe($"open inode {node.Ino}");
        var handle = Expect(await _fs.OpenAsync(User, node.Ino, OpenFlags.ReadWrite), "open");
        node.OpenCount++;
        _handles.Add((handle, node));
    }

    private async Task ReleaseAsync(FileHandle handle, ModelInode node)
    {
        Describe($"release handle {handle.Id} of inode {node.Ino}");
        _handles.Remove((handle, node));
        node.OpenCount--;
        Expect(await _fs.ReleaseAsync(handle), "release");
        if (node.Links == 0 && node.OpenCount == 0)
            await CheckGoneAsync(node.Ino);
        else
            await CheckFileAsync(node, 0, 0);
    }

    private async Task FlushAsync((FileHandle Handle, ModelInode Node) open, bool fsync)
    {
        Describe($"{(fsync ? "fsync" : "flush")} inode {open.Node.Ino}");
        Expect(fsync ? await _fs.FsyncAsync(open.Handle, dataOnly: _random.Next(2) == 0) : await _fs.FlushAsync(open.Handle), "flush");
        await CheckFileAsync(open.Node, 0, 0);
    }

    private async Task WriteAsync((FileHandle Handle, ModelInode Node) open)
    {
        var (handle, node) = open;
        var length = WriteLength();
        var offset = WriteOffset(node.Content.Length);
        if (offset + length > _maxFileSize)
            offset = _maxFileSize - length;
        var data = _pool.AsMemory(_random.Next(_pool.Length - length + 1), length);
        Describe($"write inode {node.Ino} [{offset}, {offset + length}) size {node.Content.Length}");

        var written = Expect(await _fs.WriteAsync(handle, offset, data), "write");
        Check(written == length, $"write wrote {written} of {length} bytes");
        node.Content.Write(offset, data.Span);
        _bytesWritten += length;
        await CheckFileAsync(node, offset, offset + length);
    }

    private async Task ReadAsync((FileHandle Handle, ModelInode Node) open)
    {
        var (handle, node) = open;
        var size = node.Content.Length;
        var offset = _random.Next(4) switch
        {
            0 => Math.Max(0, size - _random.Next(1, 2 * _blockSize)),
            1 => size + _random.Next(0, 100),
            _ => _random.NextInt64(0, size + 1),
        };
        var length = _random.Next(3) == 0 ? _random.Next(1, 2 * _blockSize) : _random.Next(1, 16 * 1024);
        Describe($"read inode {node.Ino} [{offset}, {offset + length}) size {size}");
        await CompareAsync(handle, node, offset, Math.Min(offset + length, size), requestedEnd: offset + length);
    }

    private async Task TruncateAsync(ModelInode node)
    {
        var size = node.Content.Length;
        var newSize = _random.Next(2) == 0
            ? _random.NextInt64(0, size + 1)
            : Math.Min(_maxFileSize, size + _random.NextInt64(0, size + 2L * _blockSize));
        Describe($"truncate inode {node.Ino} from {size} to {newSize}");
        var attr = Expect(await _fs.SetAttrAsync(User, node.Ino, new SetAttrRequest(SetAttrMask.Size, Size: newSize)), "truncate");
        Check(attr.Size == newSize, $"truncate returned size {attr.Size}");
        node.Content.Resize(newSize);
        await CheckFileAsync(node, Math.Min(size, newSize), Math.Max(size, newSize));
    }

    private async Task FallocateAsync((FileHandle Handle, ModelInode Node) open)
    {
        var (handle, node) = open;
        var offset = _random.NextInt64(0, _maxFileSize - 1);
        var length = Math.Min(_maxFileSize - offset, _random.Next(1, 2 * _blockSize));
        Describe($"fallocate inode {node.Ino} [{offset}, {offset + length}) size {node.Content.Length}");
        Expect(await _fs.FallocateAsync(handle, FallocateMode.Default, offset, length), "fallocate");
        if (offset + length > node.Content.Length)
            node.Content.Resize(offset + length);
        await CheckFileAsync(node, offset, offset + length);
    }

    private async Task PunchHoleAsync((FileHandle Handle, ModelInode Node) open)
    {
        var (handle, node) = open;
        var size = node.Content.Length;
        var offset = _random.NextInt64(0, size + 1);
        var length = _random.Next(3) == 0 ? _random.Next(1, 3 * _blockSize) : _random.Next(1, 64 * 1024);
        Describe($"punch hole inode {node.Ino} [{offset}, {offset + length}) size {size}");
        Expect(await _fs.FallocateAsync(handle, FallocateMode.PunchHole | FallocateMode.KeepSize, offset, length), "punch hole");
        node.Content.Zero(offset, length);
        await CheckFileAsync(node, offset, offset + length);
    }

    private async Task RenameAsync((ModelInode Dir, string Name, ModelInode Node) source, ModelInode targetDir, string targetName)
    {
        var (sourceDir, sourceName, node) = source;
        Describe($"rename {PathOf(sourceDir)}/{sourceName} -> {PathOf(targetDir)}/{targetName}");
        targetDir.Children.TryGetValue(targetName, out var target);
        var sameEntry = sourceDir == targetDir && sourceName == targetName;
        // The order of checks is Linux's: subtree loops first, then a no-op onto the same inode, then types and emptiness.
        var expected =
            sameEntry ? Errno.OK
            : node.IsDirectory && node.IsAncestorOrSelfOf(targetDir) ? Errno.EINVAL
            : target is { IsDirectory: true } && target.IsAncestorOrSelfOf(sourceDir) ? Errno.ENOTEMPTY
            : target == node ? Errno.OK
            : target is null ? Errno.OK
            : node.IsDirectory && !target.IsDirectory ? Errno.ENOTDIR
            : !node.IsDirectory && target.IsDirectory ? Errno.EISDIR
            : target.IsDirectory && target.Children.Count > 0 ? Errno.ENOTEMPTY
            : Errno.OK;

        var errno = await _fs.RenameAsync(User, sourceDir.Ino, sourceName, targetDir.Ino, targetName);
        Check(errno == expected, $"rename returned {errno}, model expects {expected}");
        if (errno == Errno.OK && !sameEntry && target != node)
        {
            if (target is not null)
                await DropNameAsync(targetDir, targetName, target, checkGone: false);
            sourceDir.Children.Remove(sourceName);
            targetDir.Children[targetName] = node;
            if (node.IsDirectory)
                node.Parent = targetDir;
            if (target is not null)
                await CheckRemovedAsync(target);
        }

        await CheckNameAsync(sourceDir, sourceName);
        await CheckNameAsync(targetDir, targetName);
        await CheckDirectoryAsync(sourceDir);
        await CheckDirectoryAsync(targetDir);
        if (node.IsDirectory)
        {
            await CheckDirectoryAsync(node);
            var dotdot = Expect(await _fs.LookupAsync(User, node.Ino, ".."), "lookup ..");
            Check(dotdot.Ino == node.Parent!.Ino, $".. of the directory is {dotdot.Ino}, model has {node.Parent.Ino}");
        }
        else
        {
            await CheckFileAsync(node, 0, 0);
        }
    }

    private async Task LinkAsync(ModelInode node, ModelInode dir, string name)
    {
        Describe($"link inode {node.Ino} as {PathOf(dir)}/{name}");
        var expected = dir.Children.ContainsKey(name) ? Errno.EEXIST : Errno.OK;
        var result = await _fs.LinkAsync(User, node.Ino, dir.Ino, name);
        Check(result.Error == expected, $"link returned {result.Error}, model expects {expected}");
        if (result.Ok)
        {
            dir.Children[name] = node;
            node.Links++;
            Check(result.Value.Nlink == node.Links, $"link returned nlink {result.Value.Nlink}, model has {node.Links}");
        }
        await CheckNameAsync(dir, name);
        await CheckFileAsync(node, 0, 0);
    }

    private async Task UnlinkAsync((ModelInode Dir, string Name, ModelInode Node) entry)
    {
        var (dir, name, node) = entry;
        Describe($"unlink {PathOf(dir)}/{name}");
        var expected = node.IsDirectory ? Errno.EISDIR : Errno.OK;
        var errno = await _fs.UnlinkAsync(User, dir.Ino, name);
        Check(errno == expected, $"unlink returned {errno}, model expects {expected}");
        if (errno == Errno.OK)
            await DropNameAsync(dir, name, node, checkGone: true);
        await CheckNameAsync(dir, name);
        if (node.IsDirectory)
            await CheckDirectoryAsync(node);
    }

    private async Task MkdirAsync(ModelInode parent, string name)
    {
        Describe($"mkdir {PathOf(parent)}/{name}");
        var expected = parent.Children.ContainsKey(name) ? Errno.EEXIST : Errno.OK;
        var result = await _fs.MkdirAsync(User, parent.Ino, name, DirectoryMode);
        Check(result.Error == expected, $"mkdir returned {result.Error}, model expects {expected}");
        if (result.Ok)
            parent.Children[name] = new ModelInode(result.Value.Ino, FileType.Directory) { Parent = parent };
        await CheckNameAsync(parent, name);
        await CheckDirectoryAsync(parent);
    }

    private async Task RmdirAsync((ModelInode Dir, string Name, ModelInode Node) entry)
    {
        var (parent, name, node) = entry;
        Describe($"rmdir {PathOf(parent)}/{name}");
        var expected = !node.IsDirectory ? Errno.ENOTDIR : node.Children.Count > 0 ? Errno.ENOTEMPTY : Errno.OK;
        var errno = await _fs.RmdirAsync(User, parent.Ino, name);
        Check(errno == expected, $"rmdir returned {errno}, model expects {expected}");
        if (errno == Errno.OK)
        {
            parent.Children.Remove(name);
            await CheckGoneAsync(node.Ino);
        }
        await CheckNameAsync(parent, name);
        await CheckDirectoryAsync(parent);
    }

    /// <summary>The model side of a name going away: the inode dies with its last name unless a handle keeps it.</summary>
    private async Task DropNameAsync(ModelInode dir, string name, ModelInode node, bool checkGone)
    {
        dir.Children.Remove(name);
        if (node.IsDirectory)
            return;
        node.Links--;
        if (checkGone)
            await CheckRemovedAsync(node);
    }

    private async Task CheckRemovedAsync(ModelInode node)
    {
        if (node.IsDirectory || (node.Links == 0 && node.OpenCount == 0))
            await CheckGoneAsync(node.Ino);
        else
            await CheckFileAsync(node, 0, 0);
    }

    // ---- comparisons ----

    /// <summary>Type, size and link count of a file, and its content around [start, end) (all of it when small).</summary>
    private async Task CheckFileAsync(ModelInode node, long start, long end)
    {
        var attr = Expect(await _fs.GetAttrAsync(node.Ino), $"getattr inode {node.Ino}");
        Check(attr.Type == FileType.Regular, $"inode {node.Ino} has type {attr.Type}, model has a regular file");
        Check(attr.Size == node.Content.Length, $"inode {node.Ino} has size {attr.Size}, model has {node.Content.Length}");
        Check(attr.Nlink == node.Nlink, $"inode {node.Ino} has nlink {attr.Nlink}, model has {node.Nlink}");

        var size = node.Content.Length;
        if (size <= WholeFileCheckBytes)
            (start, end) = (0, size);
        else
            (start, end) = (Math.Max(0, start - 4096), Math.Min(size, end + 4096));
        if (start >= end)
            return;
        await WithReaderAsync(node, handle => CompareAsync(handle, node, start, end, end));
    }

    private async Task CheckDirectoryAsync(ModelInode dir)
    {
        var result = await _fs.GetAttrAsync(dir.Ino);
        if (dir != _root && dir.Parent is not null && !dir.Parent.Children.ContainsValue(dir))
        {
            Check(!result.Ok, $"removed directory {dir.Ino} still has attributes");
            return;
        }
        var attr = Expect(result, $"getattr directory {dir.Ino}");
        Check(attr.Type == FileType.Directory, $"inode {dir.Ino} has type {attr.Type}, model has a directory");
        Check(attr.Nlink == dir.Nlink, $"directory {PathOf(dir)} has nlink {attr.Nlink}, model has {dir.Nlink}");
    }

    private async Task CheckNameAsync(ModelInode dir, string name)
    {
        var result = await _fs.LookupAsync(User, dir.Ino, name);
        if (dir.Children.TryGetValue(name, out var node))
        {
            var attr = Expect(result, $"lookup {PathOf(dir)}/{name}");
            Check(attr.Ino == node.Ino && attr.Type == node.Type, $"{PathOf(dir)}/{name} is inode {attr.Ino} ({attr.Type}), model has {node.Ino} ({node.Type})");
        }
        else
        {
            Check(result.Error == Errno.ENOENT, $"lookup {PathOf(dir)}/{name} returned {result}, model has no such name");
        }
    }

    private async Task CheckGoneAsync(ulong ino)
    {
        var result = await _fs.GetAttrAsync(ino);
        Check(result.Error is Errno.ESTALE or Errno.ENOENT, $"inode {ino} should be gone, getattr returned {result}");
    }

    /// <summary>Reads [start, end) and compares it; <paramref name="requestedEnd"/> past the size checks the read stops at EOF.</summary>
    private async Task CompareAsync(FileHandle handle, ModelInode node, long start, long end, long requestedEnd)
    {
        for (var position = start; position < requestedEnd;)
        {
            var wanted = (int)Math.Min(ReadPiece, requestedEnd - position);
            // Every other read goes through the view the doors send from, so both read paths meet the same model.
            int got;
            if (_reads++ % 2 == 0)
            {
                got = Expect(await _fs.ReadAsync(handle, position, _actualBuffer.AsMemory(0, wanted)), $"read inode {node.Ino} at {position}");
            }
            else
            {
                using var view = Expect(await _fs.ReadViewAsync(handle, position, wanted), $"read view of inode {node.Ino} at {position}");
                got = view.Length;
                Check(got <= wanted, $"read view of inode {node.Ino} at {position} returned {got} bytes, {wanted} asked");
                Check(view.Segments.Sum(s => s.Length) == got, $"read view of inode {node.Ino} at {position}: segments do not add up to its length {got}");
                view.CopyTo(_actualBuffer);
            }
            var expected = (int)Math.Clamp(end - position, 0, wanted);
            if (got == 0 || expected == 0)
            {
                Check(got == expected, $"read of inode {node.Ino} at {position} returned {got} bytes, model expects {expected}");
                return;
            }
            Check(got <= expected, $"read of inode {node.Ino} at {position} returned {got} bytes, model has only {expected} there");
            node.Content.Read(position, _expectedBuffer.AsSpan(0, got));
            var differs = _actualBuffer.AsSpan(0, got).CommonPrefixLength(_expectedBuffer.AsSpan(0, got));
            Check(differs == got, $"inode {node.Ino} differs at byte {position + differs}: read {_actualBuffer[Math.Min(differs, got - 1)]}, model has {_expectedBuffer[Math.Min(differs, got - 1)]}");
            position += got;
        }
    }

    /// <summary>Runs <paramref name="read"/> with a handle of the file: one the driver holds, or a fresh one released after.</summary>
    private async Task WithReaderAsync(ModelInode node, Func<FileHandle, Task> read)
    {
        foreach (var (handle, open) in _handles)
        {
            if (open == node)
            {
                await read(handle);
                return;
            }
        }
        var reader = Expect(await _fs.OpenAsync(User, node.Ino, OpenFlags.ReadOnly), $"open inode {node.Ino} to check it");
        try
        {
            await read(reader);
        }
        finally
        {
            Expect(await _fs.ReleaseAsync(reader), "release checker");
        }
    }

    /// <summary>Walks the whole volume by readdir and compares names, types, inode numbers, link counts, sizes and every byte.</summary>
    private async Task CheckTreeAsync()
    {
        await CheckDirectoryTreeAsync(_root, "");
        foreach (var node in _handles.Select(h => h.Node).Where(n => n.Links == 0).Distinct())
            await CheckWholeFileAsync(node);
    }

    private async Task CheckDirectoryTreeAsync(ModelInode dir, string path)
    {
        await CheckDirectoryAsync(dir);
        var listed = new Dictionary<string, DirEntry>(StringComparer.Ordinal);
        long cookie = 0;
        while (true)
        {
            var page = Expect(await _fs.ReadDirAsync(User, dir.Ino, cookie, 4, plus: _random.Next(2) == 0), $"readdir {path}/");
            foreach (var entry in page.Entries)
                Check(listed.TryAdd(entry.Name, entry), $"readdir {path}/ returned {entry.Name} twice");
            if (page.Eof)
                break;
            Check(page.Entries.Count > 0, $"readdir {path}/ returned an empty page before the end");
            cookie = page.Entries[^1].Cookie;
        }

        Check(listed.Remove(".", out var dot) && dot.Ino == dir.Ino, $"readdir {path}/ lacks a correct \".\"");
        Check(listed.Remove("..", out var dotdot) && dotdot.Ino == (dir.Parent ?? dir).Ino, $"readdir {path}/ lacks a correct \"..\"");
        var names = string.Join(",", listed.Keys.Order(StringComparer.Ordinal));
        var modelNames = string.Join(",", dir.Children.Keys);
        Check(names == modelNames, $"{path}/ lists [{names}], model has [{modelNames}]");

        foreach (var (name, node) in dir.Children)
        {
            var entry = listed[name];
            Check(entry.Ino == node.Ino && entry.Type == node.Type, $"{path}/{name} is inode {entry.Ino} ({entry.Type}), model has {node.Ino} ({node.Type})");
            if (node.IsDirectory)
                await CheckDirectoryTreeAsync(node, $"{path}/{name}");
            else
                await CheckWholeFileAsync(node);
        }
    }

    private async Task CheckWholeFileAsync(ModelInode node)
    {
        var attr = Expect(await _fs.GetAttrAsync(node.Ino), $"getattr inode {node.Ino}");
        Check(attr.Size == node.Content.Length, $"inode {node.Ino} has size {attr.Size}, model has {node.Content.Length}");
        Check(attr.Nlink == node.Nlink, $"inode {node.Ino} has nlink {attr.Nlink}, model has {node.Nlink}");
        await WithReaderAsync(node, handle => CompareAsync(handle, node, 0, node.Content.Length, node.Content.Length + 1));
    }

    // ---- random choices ----

    /// <summary>Mostly small writes, now and then a block or a few: modest data volume, yet block edges get crossed.</summary>
    private int WriteLength()
    {
        var roll = _random.NextDouble();
        return roll switch
        {
            < 0.70 => _random.Next(1, 4097),
            < 0.905 => _random.Next(4097, Math.Max(4098, Math.Min(_blockSize, 64 * 1024) + 1)),
            < 0.995 => _random.Next(1, _blockSize + 1),
            _ => _random.Next(_blockSize, 3 * _blockSize + 1),
        };
    }

    private long WriteOffset(long size)
    {
        var roll = _random.NextDouble();
        return roll switch
        {
            < 0.35 => _random.NextInt64(0, size + 1),
            < 0.55 => size,
            < 0.70 => Math.Max(0, _random.NextInt64(1, _maxFileSize / _blockSize + 1) * _blockSize + _random.Next(-64, 65)),
            < 0.85 => size + _random.Next(1, 2 * _blockSize),
            _ => _random.NextInt64(0, _maxFileSize),
        };
    }

    private T Pick<T>(IReadOnlyList<T> items)
    {
        Check(items.Count > 0, "nothing to pick from");
        return items[_random.Next(items.Count)];
    }

    private (ModelInode Dir, string Name, ModelInode Node) PickRemovalCandidate(bool preferFiles)
    {
        var entries = Entries().ToList();
        var files = entries.Where(e => !e.Node.IsDirectory).ToList();
        return preferFiles && files.Count > 0 ? Pick(files) : Pick(entries);
    }

    private IEnumerable<(ModelInode Dir, string Name, ModelInode Node)> Entries()
    {
        var pending = new Stack<ModelInode>();
        pending.Push(_root);
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            foreach (var (name, node) in dir.Children)
            {
                yield return (dir, name, node);
                if (node.IsDirectory)
                    pending.Push(node);
            }
        }
    }

    private List<ModelInode> Directories() => [_root, .. Entries().Where(e => e.Node.IsDirectory).Select(e => e.Node)];

    /// <summary>Regular files that have at least one name.</summary>
    private IEnumerable<ModelInode> Files() => Entries().Where(e => !e.Node.IsDirectory).Select(e => e.Node).Distinct();

    /// <summary>Files with a name or an open handle (unlinked-but-open ones can still be truncated).</summary>
    private IEnumerable<ModelInode> LiveFiles() => Files().Concat(_handles.Select(h => h.Node)).Distinct();

    private string PathOf(ModelInode dir)
    {
        if (dir.Parent is null)
            return "";
        var name = dir.Parent.Children.FirstOrDefault(c => c.Value == dir).Key ?? $"<removed {dir.Ino}>";
        return PathOf(dir.Parent) + "/" + name;
    }

    // ---- reporting ----

    private void Describe(string operation)
    {
        _operation = operation;
        var kind = operation.Split(' ')[0];
        _counts[kind] = _counts.GetValueOrDefault(kind) + 1;
        _recent.Enqueue($"{_step}: {operation}");
        if (_recent.Count > 12)
            _recent.Dequeue();
    }

    private T Expect<T>(Result<T> result, string what)
    {
        Check(result.Ok, $"{what} failed with {result.Error}");
        return result.Value;
    }

    private void Expect(Errno errno, string what) => Check(errno == Errno.OK, $"{what} failed with {errno}");

    private void Check(bool condition, string detail)
    {
        if (!condition)
            Assert.Fail(Context(detail));
    }

    private string Context(string detail) =>
        $"APPLIANCE_TEST_SEED={_seed} block size {_blockSize}, step {_step} ({_operation}): {detail}\nrecent operations:\n  {string.Join("\n  ", _recent)}";
}
