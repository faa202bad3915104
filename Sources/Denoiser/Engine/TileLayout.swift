/// How a padded image is cut into tiles along one axis. Tiles are `tile` long, start at multiples of
/// 2^depth, and overlap by twice the (aligned) receptive-field margin; each tile contributes only the
/// part of its output that is at least `margin` away from an edge it shares with another tile.
public struct TileSpan: Sendable, Equatable {
    /// First padded coordinate the tile covers (network input row/column 0).
    public var start: Int
    /// The half-open padded range this tile's output is written to.
    public var write: Range<Int>
}

public struct TileLayout: Sendable, Equatable {
    public var paddedHeight: Int
    public var paddedWidth: Int
    public var tileHeight: Int
    public var tileWidth: Int
    /// Receptive-field margin rounded up to a multiple of 2^depth.
    public var margin: Int
    public var rows: [TileSpan]
    public var columns: [TileSpan]

    public var tileCount: Int { rows.count * columns.count }

    /// Spans covering `0..<length` with tiles of `tile` (a multiple of the alignment) overlapping by 2·margin.
    public static func spans(length: Int, tile: Int, margin: Int) -> [TileSpan] {
        if tile >= length { return [TileSpan(start: 0, write: 0..<length)] }
        let step = tile - 2 * margin
        precondition(step > 0, "tile \(tile) is not larger than twice the margin \(margin)")
        var starts: [Int] = []
        var s = 0
        while s + tile < length {
            starts.append(s)
            s += step
        }
        starts.append(length - tile)  // end-aligned last tile; aligned because length and tile are
        var spans: [TileSpan] = []
        var written = 0
        for start in starts {
            let validStart = start == 0 ? 0 : start + margin
            let validEnd = start + tile == length ? length : start + tile - margin
            precondition(validStart <= written, "tiles leave a gap at \(written)")
            if validEnd > written {
                spans.append(TileSpan(start: start, write: written..<validEnd))
                written = validEnd
            }
        }
        return spans
    }
}
