using System.Buffers.Binary;

namespace DurabilityWriter;

/// <summary>
/// The content the writer puts in its files: a pseudo-random byte stream per file, addressable at any offset, so the
/// verifier can check any prefix without knowing how the writer split it into writes.
/// </summary>
public static class DurabilityPattern
{
    public const int Files = 3;
    public const int SyncedStepsPerFile = 3;

    /// <summary>Lengths of the fsynced appends; they straddle 4 MiB block and odd boundaries on purpose.</summary>
    public static readonly int[] StepLengths = [(1 << 20) + 123, (5 << 20) + 7, 333_333];

    public static string FileName(int file) => $"durable-{file}.bin";

    /// <summary>Fills <paramref name="destination"/> with the bytes of <paramref name="file"/> starting at <paramref name="offset"/>.</summary>
    public static void Fill(int file, long offset, Span<byte> destination)
    {
        Span<byte> word = stackalloc byte[8];
        var position = offset;
        var written = 0;
        while (written < destination.Length)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(word, SplitMix64(((ulong)(file + 1) << 48) ^ (ulong)(position >> 3)));
            var within = (int)(position & 7);
            var take = Math.Min(8 - within, destination.Length - written);
            word.Slice(within, take).CopyTo(destination[written..]);
            written += take;
            position += take;
        }
    }

    private static ulong SplitMix64(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}
