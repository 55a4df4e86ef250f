using System.Diagnostics.CodeAnalysis;

namespace Fs.Core.Vfs;

/// <summary>The outcome of a file-system call: a value, or a POSIX errno.</summary>
public readonly struct Result<T>
{
    private readonly T? _value;

    public Result(T value)
    {
        _value = value;
        Error = Errno.OK;
    }

    public Result(Errno error)
    {
        if (error == Errno.OK)
            throw new ArgumentException("A failed result needs a non-zero errno.", nameof(error));
        _value = default;
        Error = error;
    }

    public Errno Error { get; }

    [MemberNotNullWhen(true, nameof(Value))]
    public bool Ok => Error == Errno.OK;

    /// <summary>The value; throws <see cref="FsException"/> when the call failed.</summary>
    public T Value => Error == Errno.OK ? _value! : throw new FsException(Error);

    public bool TryGet([MaybeNullWhen(false)] out T value)
    {
        value = _value;
        return Error == Errno.OK;
    }

    public static implicit operator Result<T>(T value) => new(value);

    public static implicit operator Result<T>(Errno error) => new(error);

    public override string ToString() => Ok ? $"Ok({_value})" : Error.ToString();
}
