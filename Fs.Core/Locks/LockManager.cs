namespace Fs.Core.Locks;

/// <summary>The one lock manager of a volume (placeholder until the lock manager lands).</summary>
public sealed class LockManager
{
}
