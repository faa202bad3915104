import Denoiser
import Foundation

/// The trainer's deterministic random source: xoshiro256** seeded through SplitMix64.
///
/// Why our own generator: Swift's `SystemRandomNumberGenerator` cannot be seeded, and training must be
/// reproducible for a given seed across runs and resumes (the 256-bit state is saved in checkpoints).
/// Uniforms use the top 53 bits; Gaussians use the Box–Muller cosine branch in Double (one pair of uniforms
/// per value, nothing cached), so the four state words are the whole state and a resumed run continues the
/// exact same stream.
public struct TrainingRandom: RandomNumberGenerator, Sendable, Equatable {
    public private(set) var state: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var seeder = SplitMix64(seed: seed)
        state = (seeder.next(), seeder.next(), seeder.next(), seeder.next())
    }

    /// Restores a generator from `stateWords` (as saved by `stateWords`).
    public init?(stateWords: [UInt64]) {
        guard stateWords.count == 4, stateWords.contains(where: { $0 != 0 }) else { return nil }
        state = (stateWords[0], stateWords[1], stateWords[2], stateWords[3])
    }

    public var stateWords: [UInt64] { [state.0, state.1, state.2, state.3] }

    public static func == (a: TrainingRandom, b: TrainingRandom) -> Bool { a.stateWords == b.stateWords }

    public mutating func next() -> UInt64 {
        let result = ((state.1 &* 5) << 7 | (state.1 &* 5) >> 57) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = state.3 << 45 | state.3 >> 19
        return result
    }

    /// Uniform in [0, 1).
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform integer in 0..<bound (Lemire's method through the standard library).
    public mutating func integer(below bound: Int) -> Int { Int.random(in: 0..<bound, using: &self) }

    /// Standard normal N(0, 1).
    public mutating func gaussian() -> Double {
        var u1 = uniform()
        while u1 <= 0 { u1 = uniform() }
        let u2 = uniform()
        return (-2.0 * log(u1)).squareRoot() * cos(2.0 * Double.pi * u2)
    }
}
