using System.Globalization;
using System.Text;
using Fs.Core.Vfs;

namespace Fs.Core.Meta;

/// <summary>
/// Where removed files wait when the volume keeps a trash: <c>/.trash/&lt;yyyy-MM-dd-HH&gt;/&lt;parent&gt;-&lt;ino&gt;-&lt;name&gt;</c>.
/// <c>/.trash</c> is an inode with a fixed number and no entry in the root, so root listings never show it while a lookup
/// of the name finds it. Shared by every metadata engine so each moves names into the same places.
/// </summary>
public static class TrashLayout
{
    /// <summary>The inode of /.trash: far above any counter-assigned number, as in JuiceFS.</summary>
    public const ulong TrashIno = 0x7FFF_FFFF_1000_0000;

    public const string Name = ".trash";

    /// <summary>Mode of the trash and its hour directories: readable by all, changed only by root (restore and expiry run as root).</summary>
    public const uint DirectoryMode = 0x16D; // 0555

    private const string HourFormat = "yyyy-MM-dd-HH";

    /// <summary>The hour directory a name removed at <paramref name="utc"/> goes to.</summary>
    public static string HourName(DateTime utc) => utc.ToUniversalTime().ToString(HourFormat, CultureInfo.InvariantCulture);

    /// <summary>The start (UTC) of the hour an hour directory's name stands for.</summary>
    public static bool TryParseHour(string name, out DateTime hourUtc) =>
        DateTime.TryParseExact(name, HourFormat, CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out hourUtc);

    /// <summary>
    /// The name a removed entry gets in its hour directory. A name too long to fit beside the two numbers is cut at a
    /// character boundary: the file stays restorable, under the shortened name.
    /// </summary>
    public static string EntryName(ulong parent, ulong ino, string name)
    {
        var prefix = string.Create(CultureInfo.InvariantCulture, $"{parent}-{ino}-");
        var room = FsLimits.MaxNameBytes - prefix.Length;
        if (Encoding.UTF8.GetByteCount(name) <= room)
            return prefix + name;
        var cut = name.Length;
        while (cut > 0 && Encoding.UTF8.GetByteCount(name.AsSpan(0, cut)) > room)
            cut--;
        if (cut > 0 && char.IsHighSurrogate(name[cut - 1]))
            cut--;
        return prefix + name[..cut];
    }

    /// <summary>Splits a trash entry name back into the directory and name it was removed from.</summary>
    public static bool TryParseEntry(string entryName, out ulong parent, out ulong ino, out string name)
    {
        parent = ino = 0;
        name = "";
        var first = entryName.IndexOf('-', StringComparison.Ordinal);
        if (first <= 0)
            return false;
        var second = entryName.IndexOf('-', first + 1);
        if (second <= first + 1 || second == entryName.Length - 1)
            return false;
        if (!ulong.TryParse(entryName.AsSpan(0, first), NumberStyles.None, CultureInfo.InvariantCulture, out parent)
            || !ulong.TryParse(entryName.AsSpan(first + 1, second - first - 1), NumberStyles.None, CultureInfo.InvariantCulture, out ino))
            return false;
        name = entryName[(second + 1)..];
        return true;
    }

    /// <summary>Attributes of /.trash or one of its hour directories: root-owned, read-only to everyone.</summary>
    public static InodeAttr NewDirectory(ulong ino, ulong parent, long now) => new()
    {
        Ino = ino,
        Type = FileType.Directory,
        Mode = DirectoryMode,
        Nlink = 2,
        Size = 4096,
        Atime = now,
        Mtime = now,
        Ctime = now,
        Parent = parent,
    };
}
