using System.Globalization;
using Appliance.Configuration;
using Fs.Core.Meta;
using Spectre.Console;

namespace Appliance.Cli;

/// <summary>How a volume's format is shown by format and status, as a table and as JSON.</summary>
internal static class VolumeFormatView
{
    public static Table Table(VolumeFormat format, string metaUrl)
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumn("Setting").AddColumn("Value");
        foreach (var (name, value) in Rows(format, metaUrl))
            table.AddRow(Markup.Escape(name), Markup.Escape(value));
        return table;
    }

    /// <summary>The format as plain values for JSON; the handle-signing key is a secret and never shown.</summary>
    public static object Json(VolumeFormat format, string metaUrl) => new
    {
        format.Name,
        format.Uuid,
        Meta = metaUrl,
        format.Storage,
        format.BlockSize,
        format.Compression,
        format.Encrypted,
        format.TrashDays,
        format.CapacityBytes,
        format.InodeLimit,
        format.CreatedUtc,
    };

    private static IEnumerable<(string, string)> Rows(VolumeFormat format, string metaUrl)
    {
        yield return ("Name", format.Name);
        yield return ("UUID", format.Uuid.ToString());
        yield return ("Meta", metaUrl);
        yield return ("Storage", format.Storage);
        yield return ("Block size", ByteSize.Format(format.BlockSize));
        yield return ("Compression", format.Compression);
        yield return ("Encryption", format.Encrypted ? "AES-256-GCM" : "none");
        yield return ("Trash days", format.TrashDays.ToString(CultureInfo.InvariantCulture));
        yield return ("Capacity", format.CapacityBytes == 0 ? "unlimited" : ByteSize.Humanize(format.CapacityBytes));
        yield return ("Inode limit", format.InodeLimit == 0 ? "unlimited" : format.InodeLimit.ToString(CultureInfo.InvariantCulture));
        yield return ("Created", format.CreatedUtc.ToString("u", CultureInfo.InvariantCulture));
    }
}
