namespace Protocols.Fuse.Tests;

/// <summary>A test that needs a real FUSE mount: skipped, with the reason, where /dev/fuse or root is missing.</summary>
public sealed class FuseFactAttribute : FactAttribute
{
    public FuseFactAttribute()
    {
        if (!FuseMount.IsSupported(out var reason))
            Skip = reason;
    }
}
