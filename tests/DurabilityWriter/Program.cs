using Fs.Core.Vfs;

namespace DurabilityWriter;

/// <summary>
/// Writes <see cref="DurabilityPattern"/> files into a volume, fsyncing after each step and saying so on standard
/// output ("synced NAME LENGTH"), then says "unsynced" and keeps appending without fsync until it is killed. The test
/// that runs it kills it with SIGKILL and checks that every byte it was told about survived.
/// </summary>
public static class Program
{
    private const int UnsyncedWrite = 256 << 10;

    public static async Task<int> Main(string[] args)
    {
        if (args.Length != 2)
        {
            await Console.Error.WriteLineAsync("usage: DurabilityWriter META_URL STORAGE_URL");
            return 2;
        }

        var fs = await FileSystem.OpenAsync(new FileSystemOptions { MetaUrl = args[0], StorageUrl = args[1] });
        var handles = new FileHandle[DurabilityPattern.Files];
        var lengths = new long[DurabilityPattern.Files];
        for (var file = 0; file < handles.Length; file++)
        {
            var created = await fs.CreateAsync(Caller.Root, FsLimits.RootIno, DurabilityPattern.FileName(file), 0x1A4,
                OpenFlags.ReadWrite | OpenFlags.Create | OpenFlags.Exclusive);
            handles[file] = created.Value.Handle;
        }

        for (var step = 0; step < DurabilityPattern.SyncedStepsPerFile; step++)
        {
            for (var file = 0; file < handles.Length; file++)
            {
                lengths[file] = await AppendAsync(fs, handles[file], file, lengths[file], DurabilityPattern.StepLengths[step]);
                var synced = await fs.FsyncAsync(handles[file]);
                if (synced != Errno.OK)
                    throw new FsException(synced, $"fsync of {DurabilityPattern.FileName(file)} failed: {synced}");
                Console.WriteLine($"synced {DurabilityPattern.FileName(file)} {lengths[file]}");
            }
        }

        Console.WriteLine("unsynced");
        // Deliberately never returns: the point is what the volume holds when the process dies mid-write.
        while (true)
        {
            for (var file = 0; file < handles.Length; file++)
                lengths[file] = await AppendAsync(fs, handles[file], file, lengths[file], UnsyncedWrite);
        }
    }

    private static async Task<long> AppendAsync(FileSystem fs, FileHandle handle, int file, long offset, int length)
    {
        var data = new byte[length];
        DurabilityPattern.Fill(file, offset, data);
        var written = await fs.WriteAsync(handle, offset, data);
        if (written.Value != length)
            throw new IOException($"short write to {DurabilityPattern.FileName(file)}: {written.Value} of {length}");
        return offset + length;
    }
}
