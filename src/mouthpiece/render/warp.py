"""Warp an image by moving the vertices of a triangle mesh over it.

Each output pixel takes its colour from where it was before the mesh moved: inside
every moved triangle that is the affine map from the triangle's new corners back to
its old ones. Per frame the warp

1. computes those affine maps for all triangles at once;
2. draws each triangle's index into an index image (a small C call per triangle) over
   the region the mesh covers, later triangles over earlier ones where they overlap;
3. turns the index image into a dense source map by looking up each pixel's affine map
   (on a coarse grid for a large region, then interpolated, except around triangles
   that have turned over: where the mesh folds, one triangle covers another and the map
   jumps, so there it is looked up at every pixel; so too around a node whose map strays
   from its neighbours', having fallen to a sliver of a triangle it lies just outside);
4. resamples the image once with ``cv2.remap``.

Pixels no triangle covers keep their place, so the mesh's outer ring must be fixed
points: then the warped region joins the rest of the image with no seam.
"""

from __future__ import annotations

import cv2
import numpy as np

SUBPIXEL_BITS = 4  # fractional bits of the vertex coordinates handed to OpenCV
MIN_AREA = 1e-3  # px^2; a triangle squashed flatter than this just moves with its corners
MIN_MOVE = 1e-3  # px a vertex must move to count as moved
# A warped region is mapped on a grid of every step-th pixel, the smallest step that keeps
# it under MAP_NODES nodes: a 300 px face maps at every pixel, a 1080p close-up at every 4th.
MAP_STEPS = (1, 2, 4)
MAP_NODES = 40_000
STRAY_PX = 3.0  # px a node's map may part from its neighbours' mean before it is mapped pixel by pixel
# A pixel on the edge of a sliver of a triangle takes that triangle's map a little past its
# corners, which can reach far across the source (a speck of collar or nostril under the
# lip): every pixel samples within this many px of its triangle's rest corners' bounds.
SOURCE_MARGIN = 1.5
# Where one triangle covers another the map jumps from pixel to pixel and the edge comes out
# in hard stair steps (a rig closing a smile's lips folds the skin over them): pixels beside
# a jump of more than this many px take the mean of their 3 x 3 neighbourhood.
FOLD_EDGE_PX = 2.5


class MeshWarp:
    """Warps one source image by one mesh, frame after frame.

    Parameters
    ----------
    image : np.ndarray [shape=(H, W, 3), dtype=uint8], the source
    rest : np.ndarray [shape=(N, 2)], the vertices' positions on the source, pixels
    triangles : np.ndarray [shape=(F, 3)], vertex indices
    """

    def __init__(self, image: np.ndarray, rest: np.ndarray, triangles: np.ndarray):
        self.triangles = np.asarray(triangles, np.int64)
        self._vertices = np.unique(self.triangles)  # the points the mesh uses
        self.set_source(image, rest)
        self.reset_buffers()
        # The box and source map of the last call, for warping something else the same way
        # (None when it moved nothing).
        self.last_map: tuple[tuple[int, int, int, int], np.ndarray, np.ndarray] | None = None

    def set_source(self, image: np.ndarray, rest: np.ndarray) -> None:
        """Warp ``image`` from now on, its mesh vertices at ``rest`` (a video's next frame)."""
        self.image = image
        self.rest = np.asarray(rest, np.float64)[:, :2]
        self._rest_corners = self.rest[self.triangles]  # [F, 3, 2]
        used = self.rest[self._vertices]
        self._rest_bounds = (used.min(axis=0), used.max(axis=0))

    def reset_buffers(self) -> None:
        """Start new scratch buffers (a copy of this warp must not share them with it)."""
        self._ids = np.empty(0, np.int32)
        self._nodes = (np.empty(0, np.float32), np.empty(0, np.float32))

    def region(self, points: np.ndarray, triangles: np.ndarray | None = None) -> tuple[int, int, int, int]:
        """The pixel box ``(x0, y0, x1, y1)``, inside the image, that the mesh (or the given
        ``triangles`` of it) covers both at rest and with its vertices at ``points``: every
        pixel that can change."""
        height, width = self.image.shape[:2]
        if triangles is None:
            used, rest_low, rest_high = np.asarray(points)[self._vertices, :2], *self._rest_bounds
        else:
            vertices = np.unique(self.triangles[triangles])
            used, at_rest = np.asarray(points)[vertices, :2], self.rest[vertices]
            rest_low, rest_high = at_rest.min(axis=0), at_rest.max(axis=0)
        low = np.minimum(used.min(axis=0), rest_low)
        high = np.maximum(used.max(axis=0), rest_high)
        x0, y0 = np.floor(low).astype(int) - 1
        x1, y1 = np.ceil(high).astype(int) + 2
        return max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)

    def source_map(
        self, points: np.ndarray, box: tuple[int, int, int, int], triangles: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """For each pixel of ``box`` the source position it samples, with vertices at ``points``.

        A large box is mapped on a coarser grid (``MAP_STEPS``) and interpolated: the map
        is linear inside each triangle, so this moves little (and nothing where the mesh
        is still) and keeps the cost of a frame nearly independent of its size.

        ``triangles`` (indices into the mesh's) limits the map to those; every other pixel
        samples itself.

        Returns
        -------
        map_x, map_y : np.ndarray [shape=(y1 - y0, x1 - x0), dtype=float32]
        """
        x0, y0, x1, y1 = box
        area = (x1 - x0) * (y1 - y0)
        step = next((s for s in MAP_STEPS if area <= MAP_NODES * s * s), MAP_STEPS[-1])
        # Nodes sit where cv2.resize puts the centres of its input pixels, over the box grown
        # by a step on each side: resizing is then exact bilinear interpolation on the box.
        pad = 0 if step == 1 else step
        shape = (-(-(y1 - y0 + 2 * pad) // step), -(-(x1 - x0 + 2 * pad) // step))
        first = np.array([x0 - pad, y0 - pad]) + (step - 1) / 2  # pixel position of node (0, 0)
        chosen = slice(None) if triangles is None else triangles
        corners = np.asarray(points, np.float64)[:, :2][self.triangles[chosen]]  # [F, 3, 2], where they are now
        affine = _affines(corners, self._rest_corners[chosen])  # [F + 1, 6]; the last is the identity
        ids = self._index_image((corners - first) / step, shape, len(affine) - 1)
        low, high = _source_bounds(self._rest_corners[chosen])
        coefficients = affine[ids]  # [h, w, 6]
        xs, ys = self._node_grid(shape)
        map_x = coefficients[..., 0] * (xs * step + first[0])
        map_x += coefficients[..., 1] * (ys * step + first[1])
        map_x += coefficients[..., 2]
        map_y = coefficients[..., 3] * (xs * step + first[0])
        map_y += coefficients[..., 4] * (ys * step + first[1])
        map_y += coefficients[..., 5]
        np.clip(map_x, low[ids, 0], high[ids, 0], out=map_x)
        np.clip(map_y, low[ids, 1], high[ids, 1], out=map_y)
        if step > 1:
            size = (shape[1] * step, shape[0] * step)
            inside = (slice(pad, pad + y1 - y0), slice(pad, pad + x1 - x0))
            broken = _folds(corners, self._rest_corners[chosen], first, step, shape) | _strays(map_x, map_y)
            both = cv2.resize(np.dstack([map_x, map_y]), size, interpolation=cv2.INTER_LINEAR)[inside]
            if broken.any():
                self._map_exactly(both, broken, step, pad, corners, affine, (low, high), box)
            map_x, map_y = np.ascontiguousarray(both[..., 0]), np.ascontiguousarray(both[..., 1])
        return _despeckled(map_x, map_y)

    def _map_exactly(
        self,
        both: np.ndarray,
        broken: np.ndarray,
        step: int,
        pad: int,
        corners: np.ndarray,
        affine: np.ndarray,
        bounds: tuple[np.ndarray, np.ndarray],
        box: tuple[int, int, int, int],
    ) -> None:
        """Recompute the map ``both`` [h, w, 2] pixel by pixel around the ``broken`` nodes: across
        an edge where one triangle covers another (a chin over the neck, a lid over the eye)
        the map jumps, and interpolating it between coarse nodes would sample what lies
        between (stair steps and a seam of stray pixels)."""
        x0, y0, x1, y1 = box
        low, high = corners.min(axis=1), corners.max(axis=1)  # [F, 2] each triangle's bounds
        count, labels, stats, _ = cv2.connectedComponentsWithStats(broken.astype(np.uint8), connectivity=8)
        for component, (left, top, width, height, _) in enumerate(stats[1:count], start=1):
            # the pixels of the box these nodes stand for (node k: pixels k * step - pad onwards)
            px0, py0 = max(left * step - pad, 0), max(top * step - pad, 0)
            px1, py1 = min((left + width) * step - pad, x1 - x0), min((top + height) * step - pad, y1 - y0)
            if px1 <= px0 or py1 <= py0:
                continue
            nodes = labels[top : top + height, left : left + width] == component
            where = np.repeat(np.repeat(nodes, step, axis=0), step, axis=1)
            where = where[py0 - (top * step - pad) : py1 - (top * step - pad), px0 - (left * step - pad) :]
            where = where[:, : px1 - px0]
            start = np.array([x0 + px0, y0 + py0])
            ids = np.full((py1 - py0, px1 - px0), len(affine) - 1, np.int32)
            near = np.flatnonzero(((high >= start - 1) & (low <= start + (px1 - px0, py1 - py0))).all(axis=1))
            fixed = np.round((corners[near] - start) * (1 << SUBPIXEL_BITS)).astype(np.int32)
            for index, triangle in zip(near, fixed):  # in the mesh's order, so later ones cover earlier
                cv2.fillConvexPoly(ids, triangle, (int(index),), cv2.LINE_8, SUBPIXEL_BITS)
            rows, columns = np.nonzero(where)
            chosen = ids[rows, columns]
            c = affine[chosen]
            xs, ys = columns + start[0], rows + start[1]
            least, most = bounds[0][chosen], bounds[1][chosen]
            both[rows + py0, columns + px0, 0] = np.clip(c[:, 0] * xs + c[:, 1] * ys + c[:, 2], least[:, 0], most[:, 0])
            both[rows + py0, columns + px0, 1] = np.clip(c[:, 3] * xs + c[:, 4] * ys + c[:, 5], least[:, 1], most[:, 1])

    def __call__(self, points: np.ndarray, out: np.ndarray | None = None, *, moved_only: bool = False) -> np.ndarray:
        """The source image warped so its mesh vertices move from ``rest`` to ``points``.

        Parameters
        ----------
        points : np.ndarray [shape=(N, 2 or 3)], pixels
        out : np.ndarray or None, a frame to draw into (outside the mesh's box it is
            left as it is, so pass a copy of the source); a new copy when None
        moved_only : bool, warp only the triangles with a corner away from its rest
            position (when little of a big mesh moves; the openings drawn first must
            then not lie under still triangles)

        Returns
        -------
        np.ndarray [shape=(H, W, 3), dtype=uint8]
        """
        frame = self.image.copy() if out is None else out
        self.last_map = None
        triangles = None
        if moved_only:
            away = np.abs(np.asarray(points, np.float64)[:, :2] - self.rest).max(axis=1) > MIN_MOVE
            triangles = np.flatnonzero(away[self.triangles].any(axis=1))
            if not len(triangles):
                return frame
        box = self.region(points, triangles)
        map_x, map_y = self.source_map(points, box, triangles)
        x0, y0, x1, y1 = box
        warped = cv2.remap(self.image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        frame[y0:y1, x0:x1] = _softened_folds(warped, map_x, map_y)
        self.last_map = (box, map_x, map_y)
        return frame

    def _node_grid(self, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        if self._nodes[0].shape != shape:
            ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
            self._nodes = (xs, ys)
        return self._nodes

    def _index_image(self, corners: np.ndarray, shape: tuple[int, int], background: int) -> np.ndarray:
        if self._ids.shape != shape:
            self._ids = np.empty(shape, np.int32)
        ids = self._ids
        ids.fill(background)
        fixed = np.round(corners * (1 << SUBPIXEL_BITS)).astype(np.int32)
        for index, triangle in enumerate(fixed):
            cv2.fillConvexPoly(ids, triangle, (index,), cv2.LINE_8, SUBPIXEL_BITS)
        return ids


def _folds(
    corners: np.ndarray, rest_corners: np.ndarray, first: np.ndarray, step: int, shape: tuple[int, int]
) -> np.ndarray:
    """Nodes [h, w] bool near triangles turned over since rest (the mesh has folded there:
    the chin passing the ring under it, a lid passing the other). Only where the mesh folds
    do triangles overlap, and only there does the map jump between nodes."""
    broken = np.zeros(shape, bool)
    now = _signed_areas(corners)
    # (one squeezed flat, as closing lips are, overlaps nothing worth a pixel)
    flipped = np.flatnonzero((now * _signed_areas(rest_corners) < 0) & (np.abs(now) > step * step))
    for triangle in corners[flipped]:
        (left, top), (right, bottom) = (triangle.min(axis=0) - first) / step, (triangle.max(axis=0) - first) / step
        rows = slice(max(int(np.floor(top)) - 1, 0), max(int(np.ceil(bottom)) + 2, 0))
        columns = slice(max(int(np.floor(left)) - 1, 0), max(int(np.ceil(right)) + 2, 0))
        broken[rows, columns] = True
    return broken


def _softened_folds(warped: np.ndarray, map_x: np.ndarray, map_y: np.ndarray) -> np.ndarray:
    """``warped`` with the pixels on either side of a jump in the map (:data:`FOLD_EDGE_PX`)
    replaced by their 3 x 3 mean: an anti-aliased edge where the mesh folds."""
    if min(map_x.shape) < 3:
        return warped
    across = np.abs(np.diff(map_x, axis=1)) + np.abs(np.diff(map_y, axis=1)) > FOLD_EDGE_PX
    down = np.abs(np.diff(map_x, axis=0)) + np.abs(np.diff(map_y, axis=0)) > FOLD_EDGE_PX
    if not (across.any() or down.any()):
        return warped
    edge = np.zeros(map_x.shape, bool)
    edge[:, 1:] |= across
    edge[:, :-1] |= across
    edge[1:] |= down
    edge[:-1] |= down
    softened = cv2.blur(warped, (3, 3))
    warped[edge] = softened[edge]
    return warped


def _despeckled(map_x: np.ndarray, map_y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The maps with each pixel that samples more than STRAY_PX from where its 3 x 3
    neighbourhood's median samples (one or two pixels of a sliver, mapped across the face)
    given that median instead; along a straight edge where one triangle covers another the
    median is the pixel's own side, so edges stay where they are."""
    if min(map_x.shape) < 3:
        return map_x, map_y
    middle_x, middle_y = cv2.medianBlur(map_x, 3), cv2.medianBlur(map_y, 3)
    stray = np.abs(map_x - middle_x) + np.abs(map_y - middle_y) > STRAY_PX
    if stray.any():
        map_x[stray], map_y[stray] = middle_x[stray], middle_y[stray]
    return map_x, map_y


def _source_bounds(rest_corners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per triangle (and a last row for pixels outside every triangle, unbounded) the lowest
    and highest source position its pixels may sample, [F + 1, 2] each (SOURCE_MARGIN)."""
    low = np.vstack([rest_corners.min(axis=1) - SOURCE_MARGIN, np.full((1, 2), -np.inf)]).astype(np.float32)
    high = np.vstack([rest_corners.max(axis=1) + SOURCE_MARGIN, np.full((1, 2), np.inf)]).astype(np.float32)
    return low, high


def _strays(map_x: np.ndarray, map_y: np.ndarray, limit: float = STRAY_PX) -> np.ndarray:
    """Nodes [h, w] bool, and their neighbours, whose map strays more than ``limit`` pixels
    from the mean of its four neighbours'. The map is linear inside a triangle and bends
    only a little from one to the next; a node that the index image gave to a sliver of a
    triangle it lies just outside (the lips' opening, a corner) takes that sliver's map
    from beyond its corners, and interpolating it spreads a ringed speck of whatever lies
    there over the nodes around it."""
    stray = np.zeros(map_x.shape, bool)
    for values in (map_x, map_y):
        mean = (values[:-2, 1:-1] + values[2:, 1:-1] + values[1:-1, :-2] + values[1:-1, 2:]) / 4
        stray[1:-1, 1:-1] |= np.abs(values[1:-1, 1:-1] - mean) > limit
    return cv2.dilate(stray.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) if stray.any() else stray


def _signed_areas(corners: np.ndarray) -> np.ndarray:
    """Twice the signed area of each triangle [F, 3, 2]."""
    (a, b, c) = corners[:, 0], corners[:, 1], corners[:, 2]
    return (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (c[:, 0] - a[:, 0]) * (b[:, 1] - a[:, 1])


def _affines(corners: np.ndarray, rest_corners: np.ndarray) -> np.ndarray:
    """Per triangle the affine map from ``corners`` back to ``rest_corners``, as 6 numbers
    ``(a, b, c, d, e, f)``: ``x_rest = a x + b y + c``, ``y_rest = d x + e y + f``. A row of
    the identity is appended for pixels outside the mesh.

    >>> square = np.array([[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]])
    >>> _affines(square + 2.0, square).round(3)[0]  # moved by (2, 2): sample 2 back
    array([ 1.,  0., -2.,  0.,  1., -2.], dtype=float32)
    """
    # Solve rest_i = A @ (x_i, y_i, 1) for the three corners, relative to the first one.
    x, y = corners[..., 0], corners[..., 1]
    dx1, dy1, dx2, dy2 = x[:, 1] - x[:, 0], y[:, 1] - y[:, 0], x[:, 2] - x[:, 0], y[:, 2] - y[:, 0]
    det = dx1 * dy2 - dx2 * dy1
    flat = np.abs(det) < 2 * MIN_AREA
    det = np.where(flat, 1.0, det)
    affine = np.empty((len(corners), 6))
    for row in range(2):
        rest = rest_corners[..., row]
        d1, d2 = rest[:, 1] - rest[:, 0], rest[:, 2] - rest[:, 0]
        a = (d1 * dy2 - d2 * dy1) / det
        b = (d2 * dx1 - d1 * dx2) / det
        affine[:, 3 * row] = np.where(flat, 1.0 - row, a)
        affine[:, 3 * row + 1] = np.where(flat, float(row), b)
        shift = (rest - corners[..., row]).mean(axis=1)  # a flat triangle just moves with its corners
        affine[:, 3 * row + 2] = np.where(flat, shift, rest[:, 0] - a * x[:, 0] - b * y[:, 0])
    identity = np.array([[1.0, 0.0, 0.0, 0.0, 1.0, 0.0]])
    return np.concatenate([affine, identity]).astype(np.float32)
