namespace Fs.Core.Vfs;

/// <summary>An extended attribute: its name and value (null where the caller may see the name but not read the value).</summary>
public sealed record Xattr(string Name, byte[]? Value);
