// Heat cells whose size follows the zoom (issue 11 §2): the H3 resolution is chosen from the
// view's zoom, its published cells fetched once per resolution from /api/heatmap/{metric}, and
// drawn clipped to the district (MaskExtension over the district's boundary mask layer).
// An empty answer says so: a note on the map names the layer (`emptyText`).
import {CompositeLayer} from '@deck.gl/core';
import {H3HexagonLayer} from '@deck.gl/geo-layers';
import {MaskExtension} from '@deck.gl/extensions';

/** The H3 resolution for a zoom: about 8 px per cell edge, between 7 and 10. */
export function resForZoom(zoom) {
  return Math.max(7, Math.min(10, Math.round(zoom * 0.75 - 1.75)));
}

function noteEmpty(id, text, empty) {
  const host = document.getElementById('map');
  if (!host || !host.parentElement) return;
  let note = document.getElementById(`empty-${id}`);
  if (!empty) { if (note) note.hidden = true; return; }
  if (!note) {
    note = document.createElement('p');
    note.id = `empty-${id}`;
    note.className = 'empty-layer';
    note.setAttribute('role', 'status');
    note.style.cssText = 'position:absolute;left:50%;bottom:88px;transform:translateX(-50%);' +
      'margin:0;padding:6px 12px;border-radius:6px;background:rgba(255,255,255,.92);' +
      'color:#333;font-size:14px;box-shadow:0 1px 4px rgba(0,0,0,.2);pointer-events:none;z-index:5';
    host.parentElement.appendChild(note);
  }
  note.textContent = text;
  note.hidden = false;
}

export class ZoomHeatLayer extends CompositeLayer {
  initializeState() {
    this.setState({cells: {}, res: null});
  }

  shouldUpdateState({changeFlags}) {
    return changeFlags.somethingChanged || changeFlags.viewportChanged;
  }

  updateState({props, oldProps}) {
    const res = resForZoom(this.context.viewport.zoom);
    if (props.visible !== oldProps.visible) this._note();
    // A new data version (web/src/live.js on data.changed): the cells of every resolution are
    // stale; those drawn stay on screen until the fresh ones arrive.
    const fresh = props.version !== oldProps.version;
    if (res === this.state.res && !fresh) return;
    if (fresh) this.setState({stale: this.state.cells, cells: {}});
    this.setState({res});
    if (this.state.cells[res]) { this._note(); return; }
    const headers = (props.loadOptions && props.loadOptions.fetch && props.loadOptions.fetch.headers) || {};
    const v = props.version ? `&v=${encodeURIComponent(props.version)}` : '';
    const version = props.version;
    fetch(`${props.url}?res=${res}${v}`, {credentials: 'same-origin', headers})
      .then(r => (r.ok ? r.json() : {cells: []}))
      .then(body => {
        if (this.props.version !== version) return; // a newer version is on its way
        this.setState({cells: {...this.state.cells, [res]: body.cells || []}, stale: null});
        this._note();
        this.setNeedsRedraw();
        if (this.props.onVersionLoad) this.props.onVersionLoad(version);
      })
      .catch(() => {});
  }

  _note() {
    const cells = this.state.cells[this.state.res];
    if (cells) noteEmpty(this.props.id, this.props.emptyText, this.props.visible && !cells.length);
  }

  renderLayers() {
    const stale = this.state.stale && this.state.stale[this.state.res];
    const cells = this.state.cells[this.state.res] || stale || [];
    const {ramp, domain, maskId} = this.props;
    const pick = c => {
      const t = Math.max(0, Math.min(0.9999, (c.count - domain[0]) / (domain[1] - domain[0] || 1)));
      return ramp[Math.floor(t * ramp.length)];
    };
    return new H3HexagonLayer(this.getSubLayerProps({
      id: `cells-${this.state.res}`,
      data: cells,
      getHexagon: c => c.cell,
      getFillColor: pick,
      extruded: false,
      stroked: true,
      getLineColor: [255, 255, 255, 90],
      lineWidthMinPixels: 1,
      pickable: this.props.pickable,
      extensions: maskId ? [new MaskExtension()] : [],
      maskId: maskId || undefined,
    }));
  }
}
ZoomHeatLayer.layerName = 'ZoomHeatLayer';
ZoomHeatLayer.defaultProps = {
  url: '', loadOptions: null, emptyText: '', ramp: [], domain: [10, 80], maskId: null, pickable: true,
  version: null, onVersionLoad: null,
};
