using System.Globalization;

namespace Appliance.Configuration;

/// <summary>Sizes as operators write them: plain bytes or a binary suffix (64K, 4M, 1G, 2T; "KiB"/"MB" spellings too).</summary>
public static class ByteSize
{
    public static bool TryParse(string? text, out long bytes)
    {
        bytes = 0;
        if (string.IsNullOrWhiteSpace(text))
            return false;
        var s = text.Trim();
        var digits = 0;
        while (digits < s.Length && char.IsAsciiDigit(s[digits]))
            digits++;
        if (digits == 0 || !long.TryParse(s.AsSpan(0, digits), NumberStyles.None, CultureInfo.InvariantCulture, out var number))
            return false;

        var shift = UnitShift(s.AsSpan(digits));
        if (shift < 0)
            return false;
        if (number > long.MaxValue >> shift)
            return false;
        bytes = number << shift;
        return true;
    }

    /// <summary>Parses a size or throws <see cref="InvalidSettingException"/> naming the setting.</summary>
    public static long Parse(string text, string setting) =>
        TryParse(text, out var bytes)
            ? bytes
            : throw new InvalidSettingException($"{setting}: '{text}' is not a size (use bytes or a suffix: 64K, 4M, 1G)");

    /// <summary>The shortest exact form: 4194304 -> "4M", 1536 -> "1536".</summary>
    public static string Format(long bytes)
    {
        ReadOnlySpan<char> units = ['K', 'M', 'G', 'T', 'P', 'E'];
        var unit = -1;
        while (bytes != 0 && unit + 1 < units.Length && (bytes & 1023) == 0)
        {
            bytes >>= 10;
            unit++;
        }
        return unit < 0
            ? bytes.ToString(CultureInfo.InvariantCulture)
            : string.Create(CultureInfo.InvariantCulture, $"{bytes}{units[unit]}");
    }

    /// <summary>Rounded form for display: 1.5 GiB.</summary>
    public static string Humanize(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        double value = bytes;
        var unit = 0;
        while (Math.Abs(value) >= 1024 && unit + 1 < units.Length)
        {
            value /= 1024;
            unit++;
        }
        return unit == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes} B")
            : string.Create(CultureInfo.InvariantCulture, $"{value:0.##} {units[unit]}");
    }

    private static int UnitShift(ReadOnlySpan<char> suffix)
    {
        if (suffix.IsEmpty || suffix.Equals("B", StringComparison.OrdinalIgnoreCase))
            return 0;
        var shift = char.ToUpperInvariant(suffix[0]) switch
        {
            'K' => 10,
            'M' => 20,
            'G' => 30,
            'T' => 40,
            'P' => 50,
            'E' => 60,
            _ => -1,
        };
        var rest = suffix[1..];
        if (shift < 0 || !(rest.IsEmpty || rest.Equals("B", StringComparison.OrdinalIgnoreCase) || rest.Equals("iB", StringComparison.OrdinalIgnoreCase)))
            return -1;
        return shift;
    }
}
