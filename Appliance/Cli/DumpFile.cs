using System.IO.Compression;

namespace Appliance.Cli;

/// <summary>Where dump and load read and write: a file (gzip when its name ends in .gz) or standard input/output for "-".</summary>
internal static class DumpFile
{
    public const string Standard = "-";

    public static Stream OpenWrite(string path, string workingDirectory)
    {
        if (path == Standard)
            return Console.OpenStandardOutput();
        var file = new FileStream(Path.GetFullPath(path, workingDirectory), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
        return IsGzip(path) ? new GZipStream(file, CompressionLevel.Fastest) : file;
    }

    public static Stream OpenRead(string path, string workingDirectory)
    {
        if (path == Standard)
            return Console.OpenStandardInput();
        var full = Path.GetFullPath(path, workingDirectory);
        if (!File.Exists(full))
            throw new Fs.Core.Vfs.VolumeException($"dump file {full} does not exist");
        var file = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        return IsGzip(path) ? new GZipStream(file, CompressionMode.Decompress) : file;
    }

    private static bool IsGzip(string path) => path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);
}
