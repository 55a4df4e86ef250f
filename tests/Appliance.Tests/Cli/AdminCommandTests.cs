using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Appliance.Cli;
using Fs.Core.Cache;
using Fs.Core.Objects;
using Fs.Core.Vfs;

namespace Appliance.Tests.Cli;

/// <summary>The admin commands run as an operator would, in process, against a volume in a temporary data directory.</summary>
public sealed class AdminCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("appliance-admin-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Data => Path.Combine(_dir, "data");

    private string MetaUrl => "sqlite://" + Path.Combine(Data, "meta.db");

    private string ObjectsDir => Path.Combine(Data, "objects");

    private static async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await ApplianceCli.RunAsync(args, output, error, CancellationToken.None);
        return (code, output.ToString(), error.ToString());
    }

    private async Task<(int Code, string Output, string Error)> RunOnVolumeAsync(params string[] args) =>
        await RunAsync([.. args, "--data", Data]);

    private async Task FormatAsync(params string[] options)
    {
        var (code, _, error) = await RunOnVolumeAsync(["format", .. options]);
        Assert.True(code == 0, error);
    }

    private Task<FileSystem> OpenAsync() => FileSystem.OpenAsync(new FileSystemOptions { MetaUrl = MetaUrl, MemoryCacheBytes = 16L << 20 });

    private static async Task<InodeAttr> WriteAsync(FileSystem fs, string name, byte[] data, int pieces = 1)
    {
        var (attr, handle) = (await fs.CreateAsync(Caller.Root, FsLimits.RootIno, name, 0x1A4, OpenFlags.ReadWrite | OpenFlags.Create)).Value;
        var step = (data.Length + pieces - 1) / pieces;
        for (var offset = 0; offset < data.Length; offset += step)
        {
            Assert.True((await fs.WriteAsync(handle, offset, data.AsMemory(offset, Math.Min(step, data.Length - offset)))).Ok);
            // Each flush commits its own slice: many pieces give a chunk many slices.
            Assert.Equal(Errno.OK, await fs.FlushAsync(handle));
        }
        Assert.Equal(Errno.OK, await fs.ReleaseAsync(handle));
        return attr;
    }

    private static async Task<byte[]> ReadAsync(FileSystem fs, string name)
    {
        var attr = (await fs.LookupAsync(Caller.Root, FsLimits.RootIno, name)).Value;
        var handle = (await fs.OpenAsync(Caller.Root, attr.Ino, OpenFlags.ReadOnly)).Value;
        var data = new byte[attr.Size];
        var done = 0;
        while (done < data.Length)
            done += (await fs.ReadAsync(handle, done, data.AsMemory(done))).Value;
        await fs.ReleaseAsync(handle);
        return data;
    }

    private static byte[] RandomBytes(int n, int seed)
    {
        var data = new byte[n];
        new Random(seed).NextBytes(data);
        return data;
    }

    private static JsonElement Json(string output) => JsonDocument.Parse(output).RootElement;

    [Fact]
    public async Task Gc_finds_leaked_objects_and_deletes_them_only_with_delete()
    {
        await FormatAsync();
        var data = RandomBytes(300_000, 1);
        await using (var fs = await OpenAsync())
            await WriteAsync(fs, "kept", data);
        // A block no slice references, as a writer that crashed before committing leaves behind.
        var leaked = new BlockKey(9_999_999, 0, 100).ObjectKey;
        await using (var store = ObjectStores.Open("file://" + ObjectsDir))
            await store.PutAsync(leaked, new byte[100], CancellationToken.None);
        var leakedFile = Path.Combine(ObjectsDir, leaked);
        Assert.True(File.Exists(leakedFile));

        var (code, output, error) = await RunOnVolumeAsync("gc", "--json", "--min-age", "00:00:00");
        Assert.True(code == 0, error);
        Assert.Equal(1, Json(output).GetProperty("leakedObjects").GetInt64());
        Assert.Equal(0, Json(output).GetProperty("deletedObjects").GetInt64());
        Assert.True(File.Exists(leakedFile));

        // Without --min-age the object is too young to be told apart from an upload in flight.
        (code, output, _) = await RunOnVolumeAsync("gc", "--delete", "--json");
        Assert.Equal(0, code);
        Assert.Equal(1, Json(output).GetProperty("recentLeakedObjects").GetInt64());
        Assert.True(File.Exists(leakedFile));

        (code, output, _) = await RunOnVolumeAsync("gc", "--delete", "--json", "--min-age", "00:00:00");
        Assert.Equal(0, code);
        Assert.Equal(1, Json(output).GetProperty("deletedObjects").GetInt64());
        Assert.False(File.Exists(leakedFile));
        await using (var fs = await OpenAsync())
            Assert.Equal(data, await ReadAsync(fs, "kept"));
        Assert.Equal(0, (await RunOnVolumeAsync("fsck")).Code);
    }

    [Fact]
    public async Task Gc_compact_leaves_one_slice_per_chunk_and_fsck_clean()
    {
        await FormatAsync("--block-size", "64K");
        var data = RandomBytes(200_000, 2);
        ulong ino;
        await using (var fs = await OpenAsync())
            ino = (await WriteAsync(fs, "pieces", data, pieces: 10)).Ino;

        var (code, output, error) = await RunOnVolumeAsync("gc", "--compact", "--delete", "--json");
        Assert.True(code == 0, error);
        Assert.Equal(1, Json(output).GetProperty("compactedChunks").GetInt64());

        var (fsck, fsckOutput, _) = await RunOnVolumeAsync("fsck");
        Assert.True(fsck == 0, fsckOutput);
        Assert.Contains("clean", fsckOutput);
        await using (var fs = await OpenAsync())
        {
            Assert.Single((await fs.Meta.ReadChunkAsync(ino, 0, CancellationToken.None)).Value);
            Assert.Equal(data, await ReadAsync(fs, "pieces"));
        }
    }

    [Fact]
    public async Task Dump_and_load_through_a_gzip_file_give_a_volume_with_the_same_files()
    {
        await FormatAsync("--trash-days", "3");
        var a = RandomBytes(150_000, 3);
        var b = RandomBytes(10, 4);
        await using (var fs = await OpenAsync())
        {
            await WriteAsync(fs, "a", a);
            await WriteAsync(fs, "b", b);
            Assert.True((await fs.SymlinkAsync(Caller.Root, FsLimits.RootIno, "link", "a")).Ok);
        }
        var dump = Path.Combine(_dir, "volume.json.gz");

        var (code, output, error) = await RunOnVolumeAsync("dump", dump);
        Assert.True(code == 0, error);
        Assert.Contains("records", output);
        Assert.Equal(0x1F, File.ReadAllBytes(dump)[0]); // gzip magic

        var loadedMeta = "sqlite://" + Path.Combine(_dir, "loaded", "meta.db");
        (code, output, error) = await RunAsync("load", dump, "--meta", loadedMeta);
        Assert.True(code == 0, error);
        Assert.Contains("loaded volume", output);

        // Loading twice is refused: load wants an empty engine.
        (code, _, error) = await RunAsync("load", dump, "--meta", loadedMeta);
        Assert.Equal(2, code);
        Assert.Contains("already holds", error);

        await using var loaded = await FileSystem.OpenAsync(new FileSystemOptions { MetaUrl = loadedMeta });
        Assert.Equal(3, loaded.Format.TrashDays);
        Assert.Equal(SHA256.HashData(a), SHA256.HashData(await ReadAsync(loaded, "a")));
        Assert.Equal(b, await ReadAsync(loaded, "b"));
        var link = (await loaded.LookupAsync(Caller.Root, FsLimits.RootIno, "link")).Value;
        Assert.Equal("a", (await loaded.ReadlinkAsync(link.Ino)).Value);
    }

    [Fact]
    public async Task Config_changes_trash_days_capacity_and_inodes_and_status_shows_them()
    {
        await FormatAsync();

        var (code, output, error) = await RunOnVolumeAsync("config", "--trash-days", "2", "--capacity", "1G", "--inodes", "1000", "--json");

        Assert.True(code == 0, error);
        var json = Json(output);
        Assert.Equal(2, json.GetProperty("trashDays").GetInt32());
        Assert.Equal(1L << 30, json.GetProperty("capacityBytes").GetInt64());
        Assert.Equal(1000, json.GetProperty("inodeLimit").GetInt64());
        (_, output, _) = await RunOnVolumeAsync("status", "--json");
        Assert.Equal(2, Json(output).GetProperty("format").GetProperty("trashDays").GetInt32());
    }

    [Fact]
    public async Task Restore_all_puts_removed_files_back_and_reports_names_taken_again()
    {
        await FormatAsync("--trash-days", "1");
        await using (var fs = await OpenAsync())
        {
            await WriteAsync(fs, "one", [1]);
            await WriteAsync(fs, "two", [2]);
            Assert.Equal(Errno.OK, await fs.UnlinkAsync(Caller.Root, FsLimits.RootIno, "one"));
            Assert.Equal(Errno.OK, await fs.UnlinkAsync(Caller.Root, FsLimits.RootIno, "two"));
            await WriteAsync(fs, "two", [22]);
        }

        var (code, output, _) = await RunOnVolumeAsync("restore", "--json");
        Assert.Equal(0, code);
        Assert.Equal(2, Json(output).GetArrayLength());

        (code, output, _) = await RunOnVolumeAsync("restore", "--all", "--json");
        Assert.Equal(1, code);
        var outcomes = Json(output).EnumerateArray().ToDictionary(o => o.GetProperty("originalName").GetString()!, o => o.GetProperty("restored").GetBoolean());
        Assert.True(outcomes["one"]);
        Assert.False(outcomes["two"]);
        await using (var fs = await OpenAsync())
        {
            Assert.Equal([1], await ReadAsync(fs, "one"));
            Assert.Equal([22], await ReadAsync(fs, "two"));
        }
    }

    [Fact]
    public async Task Destroy_refuses_while_a_session_is_open_then_deletes_objects_and_metadata()
    {
        await FormatAsync();
        await using (var fs = await OpenAsync())
        {
            await WriteAsync(fs, "data", RandomBytes(100_000, 5));
            var (refused, _, error) = await RunOnVolumeAsync("destroy", "--yes");
            Assert.Equal(1, refused);
            Assert.Contains("in use", error);
        }
        Assert.NotEmpty(Directory.EnumerateFiles(ObjectsDir, "*", SearchOption.AllDirectories));

        var (code, output, _) = await RunOnVolumeAsync("destroy", "--yes");

        Assert.Equal(0, code);
        Assert.Contains("destroyed", output);
        Assert.Empty(Directory.EnumerateFiles(ObjectsDir, "*", SearchOption.AllDirectories));
        var (status, _, statusError) = await RunOnVolumeAsync("status");
        Assert.Equal(2, status);
        Assert.Contains("no volume", statusError);
        await FormatAsync("again");
    }

    [Fact]
    public async Task Warmup_reads_every_block_under_the_path_and_nothing_else()
    {
        await FormatAsync("--block-size", "64K");
        await using (var fs = await OpenAsync())
        {
            Assert.True((await fs.MkdirAsync(Caller.Root, FsLimits.RootIno, "set", 0x1ED)).Ok);
            await WriteAsync(fs, "outside", RandomBytes(100_000, 6));
            var dir = (await fs.LookupAsync(Caller.Root, FsLimits.RootIno, "set")).Value;
            var (_, h) = (await fs.CreateAsync(Caller.Root, dir.Ino, "inside", 0x1A4, OpenFlags.ReadWrite | OpenFlags.Create)).Value;
            Assert.True((await fs.WriteAsync(h, 0, RandomBytes(300_000, 7))).Ok);
            Assert.Equal(Errno.OK, await fs.ReleaseAsync(h));
        }

        var (code, output, error) = await RunOnVolumeAsync("warmup", "/set");

        Assert.True(code == 0, error);
        Assert.Contains("warmed 1 files, 300000 bytes", output);
        (code, _, error) = await RunOnVolumeAsync("warmup", "/missing");
        Assert.Equal(1, code);
        Assert.Contains("ENOENT", error);
    }

    [Fact]
    public async Task Bench_prints_its_table_on_the_embedded_default_in_under_a_minute()
    {
        await FormatAsync();
        var clock = Stopwatch.StartNew();

        var (code, output, error) = await RunOnVolumeAsync("bench");

        Assert.True(code == 0, error);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"bench took {clock.Elapsed}");
        foreach (var row in new[] { "Write big file", "Read big file", "Write small file", "Read small file", "Stat file" })
            Assert.Contains(row, output);
        Assert.Contains("MiB/s", output);
        await using var fs = await OpenAsync();
        var root = (await fs.ReadDirAsync(Caller.Root, FsLimits.RootIno, 0, 100)).Value;
        Assert.Equal(2, root.Entries.Count); // only "." and "..": the benchmark cleaned up after itself
    }

    [Fact]
    public async Task Bench_through_a_directory_measures_that_directory()
    {
        var target = Path.Combine(_dir, "mounted");
        Directory.CreateDirectory(target);

        var (code, output, error) = await RunAsync("bench", target, "--big-file-size", "8M", "--small-files", "10");

        Assert.True(code == 0, error);
        Assert.Contains("Stat file", output);
        Assert.Contains("the directory", output);
        Assert.Empty(Directory.EnumerateFileSystemEntries(target));
    }
}
