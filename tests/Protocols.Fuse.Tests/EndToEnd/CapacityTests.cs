namespace Protocols.Fuse.Tests.EndToEnd;

/// <summary>A mounted volume formatted with an 8 MiB capacity quota.</summary>
public sealed class SmallMountedVolume() : MountedVolume(8L << 20);

/// <summary>The capacity quota seen through the FUSE door: ENOSPC past it, earlier data intact, df reporting it.</summary>
public sealed class CapacityTests(SmallMountedVolume volume) : IClassFixture<SmallMountedVolume>
{
    private const int ENOSPC = 28;

    [FuseFact]
    public async Task Writing_past_the_capacity_fails_with_ENOSPC_and_keeps_earlier_files_intact()
    {
        var dir = volume.NewDirectory("capacity");
        var original = Path.Combine(volume.Scratch, "first");
        var first = Path.Combine(dir, "first");
        await MountedVolume.CheckedAsync($"head -c {3 << 20} /dev/urandom > {original} && cp {original} {first} && sync");
        var checksum = await MountedVolume.CheckedAsync($"sha256sum < {original}");
        Assert.Equal(checksum, await MountedVolume.CheckedAsync($"sha256sum < {first}"));

        // An ordinary tool, in another process, runs into the quota: 16 MiB cannot fit in the 5 MiB left.
        var (exit, _, error) = await MountedVolume.ShellAsync($"dd if=/dev/zero of={Path.Combine(dir, "big")} bs=1M count=16 conv=fsync");
        Assert.NotEqual(0, exit);
        Assert.Contains("No space left on device", error);

        // .NET sees the same errno; the mount is served by this process, so the blocking I/O runs on a thread of its own.
        var failure = await Task.Factory.StartNew(
            () => Record.Exception(() =>
            {
                using var stream = new FileStream(Path.Combine(dir, "dotnet"), FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
                var block = new byte[1 << 20];
                for (var i = 0; i < 16; i++)
                    stream.Write(block);
                stream.Flush(flushToDisk: true);
            }),
            TaskCreationOptions.LongRunning);
        var io = Assert.IsAssignableFrom<IOException>(failure);
        Assert.Equal(ENOSPC, io.HResult);

        Assert.Equal(checksum, await MountedVolume.CheckedAsync($"sha256sum < {first}"));
        // And after a remount, with every cache cold, the committed bytes are still the ones written.
        await volume.CloseAsync();
        await volume.OpenAsync();
        Assert.Equal(checksum, await MountedVolume.CheckedAsync($"sha256sum < {first}"));

        var blocks = (await MountedVolume.CheckedAsync($"stat -f -c '%b %S' {volume.Path}")).Split(' ').Select(long.Parse).ToArray();
        Assert.Equal(volume.CapacityBytes, blocks[0] * blocks[1]);
        Assert.Equal(volume.CapacityBytes, long.Parse(await MountedVolume.CheckedAsync($"df -B1 --output=size {volume.Path} | tail -1")));
    }
}
