using System.Security.Cryptography;
using Fs.Core.Vfs;

namespace Protocols.Nfs.Tests.EndToEnd;

/// <summary>The libnfs user-space client (Debian package libnfs-utils: nfs-ls, nfs-cp, nfs-cat) against the server.</summary>
public sealed class LibNfsTests : NfsServerTest
{
    private string Url(string path = "") => $"nfs://127.0.0.1/{path}?nfsport={Server.Port}&mountport={Server.MountPort}";

    private static void RequireTools()
    {
        foreach (var tool in new[] { "nfs-ls", "nfs-cp", "nfs-cat" })
            Assert.True(ExternalProcess.OnPath(tool), $"{tool} is missing: apt-get install libnfs-utils");
    }

    [Fact]
    public async Task Files_copied_in_and_out_with_libnfs_keep_their_checksum_and_are_listed()
    {
        RequireTools();
        var local = Path.Combine(TempDir, "local");
        Directory.CreateDirectory(local);
        var source = Path.Combine(local, "big.bin");
        var data = RandomNumberGenerator.GetBytes(20 * 1024 * 1024 + 12345);
        await File.WriteAllBytesAsync(source, data);

        var copyIn = await ExternalProcess.RunAsync("nfs-cp", [source, Url("/big.bin")], TimeSpan.FromMinutes(2));
        Assert.True(copyIn.ExitCode == 0, copyIn.Output);

        var listing = await ExternalProcess.RunAsync("nfs-ls", [Url()], TimeSpan.FromMinutes(1));
        Assert.True(listing.ExitCode == 0, listing.Output);
        Assert.Contains("big.bin", listing.Output);
        Assert.Contains(data.Length.ToString(), listing.Output);

        var copyOut = Path.Combine(local, "back.bin");
        var result = await ExternalProcess.RunAsync("nfs-cp", [Url("/big.bin"), copyOut], TimeSpan.FromMinutes(2));
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(await File.ReadAllBytesAsync(copyOut)));

        var catted = Path.Combine(local, "cat.bin");
        var cat = await ExternalProcess.RunAsync("nfs-cat", [Url("/big.bin")], TimeSpan.FromMinutes(2), stdoutFile: catted);
        Assert.True(cat.ExitCode == 0, cat.Output);
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(await File.ReadAllBytesAsync(catted)));

        // The same bytes through the file system, as another door would see them.
        var attr = (await Fs.LookupAsync(Caller.Root, FsLimits.RootIno, "big.bin")).Value;
        Assert.Equal(data.Length, attr.Size);
        var handle = (await Fs.OpenAsync(Caller.Root, attr.Ino, OpenFlags.ReadOnly)).Value;
        var buffer = new byte[data.Length];
        var total = 0;
        while (total < buffer.Length)
        {
            var n = (await Fs.ReadAsync(handle, total, buffer.AsMemory(total))).Value;
            Assert.True(n > 0);
            total += n;
        }
        await Fs.ReleaseAsync(handle);
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(buffer));
    }

    [Fact]
    public async Task A_file_written_through_the_vfs_is_read_by_libnfs()
    {
        RequireTools();
        var created = (await Fs.CreateAsync(Caller.Root, FsLimits.RootIno, "from-host.txt", 0x1A4, OpenFlags.ReadWrite)).Value;
        await Fs.WriteAsync(created.Handle, 0, "written on the host\n"u8.ToArray());
        await Fs.ReleaseAsync(created.Handle);
        var cat = await ExternalProcess.RunAsync("nfs-cat", [Url("/from-host.txt")], TimeSpan.FromMinutes(1));
        Assert.True(cat.ExitCode == 0, cat.Output);
        Assert.StartsWith("written on the host", cat.Output);
    }
}
