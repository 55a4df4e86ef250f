using System.Globalization;
using DurabilityWriter;
using Fs.Core.Vfs;

namespace Appliance.Tests.EndToEnd;

/// <summary>Data acknowledged by fsync survives the writer being SIGKILLed mid-write, and the volume checks clean afterwards.</summary>
public sealed class DurabilityTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("appliance-durability-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string MetaUrl => "sqlite://" + Path.Combine(_dir, "meta.db");

    private string StorageUrl => "file://" + Path.Combine(_dir, "objects");

    [Fact]
    public async Task Fsynced_data_survives_sigkill_and_fsck_is_clean()
    {
        await FileSystem.FormatAsync(new FormatOptions { Name = "durability", MetaUrl = MetaUrl, StorageUrl = StorageUrl });

        var synced = new Dictionary<string, long>();
        await using (var writer = ChildProcess.Start("DurabilityWriter.dll", _dir, MetaUrl, StorageUrl))
        {
            var expected = DurabilityPattern.Files * DurabilityPattern.SyncedStepsPerFile;
            for (var i = 0; i < expected; i++)
            {
                var line = await writer.WaitForLineAsync(l => l.StartsWith("synced ", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
                var parts = line.Split(' ');
                synced[parts[1]] = long.Parse(parts[2], CultureInfo.InvariantCulture);
            }
            await writer.WaitForLineAsync(l => l == "unsynced", TimeSpan.FromSeconds(30));
            // Let it get some unsynced writes (and background uploads) in flight, then pull the plug.
            await Task.Delay(TimeSpan.FromMilliseconds(500));
            writer.Kill();
            await writer.WaitForExitAsync(TimeSpan.FromSeconds(30));
        }

        Assert.Equal(DurabilityPattern.Files, synced.Count);
        await using (var fs = await FileSystem.OpenAsync(new FileSystemOptions { MetaUrl = MetaUrl, StorageUrl = StorageUrl }))
        {
            for (var file = 0; file < DurabilityPattern.Files; file++)
                await VerifyPrefixAsync(fs, file, synced[DurabilityPattern.FileName(file)]);
        }

        await using var fsck = ChildProcess.Start("appliance.dll", _dir, "fsck", "--meta", MetaUrl, "--storage", StorageUrl);
        var code = await fsck.WaitForExitAsync(TimeSpan.FromMinutes(2));
        Assert.True(code == 0, $"fsck exit code {code}; output:\n{fsck.Transcript}");
        Assert.Contains("clean", fsck.Transcript);
    }

    private static async Task VerifyPrefixAsync(FileSystem fs, int file, long length)
    {
        var name = DurabilityPattern.FileName(file);
        var attr = (await fs.LookupAsync(Caller.Root, FsLimits.RootIno, name)).Value;
        Assert.True(attr.Size >= length, $"{name}: size {attr.Size} is shorter than the {length} bytes fsynced");

        var handle = (await fs.OpenAsync(Caller.Root, attr.Ino, OpenFlags.ReadOnly)).Value;
        var actual = new byte[1 << 20];
        var expected = new byte[actual.Length];
        for (long offset = 0; offset < length;)
        {
            var want = (int)Math.Min(actual.Length, length - offset);
            var read = (await fs.ReadAsync(handle, offset, actual.AsMemory(0, want))).Value;
            Assert.True(read > 0, $"{name}: read returned 0 at {offset} of {length}");
            DurabilityPattern.Fill(file, offset, expected.AsSpan(0, read));
            if (!actual.AsSpan(0, read).SequenceEqual(expected.AsSpan(0, read)))
            {
                var at = actual.AsSpan(0, read).CommonPrefixLength(expected.AsSpan(0, read));
                Assert.Fail($"{name}: byte {offset + at} differs from what was fsynced");
            }
            offset += read;
        }
        Assert.Equal(Errno.OK, await fs.ReleaseAsync(handle));
    }
}
