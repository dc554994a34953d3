// Cooperative time slicing lives in util (the feeders slice their walks too); kept here for the phase mix's imports.
export { createYielder, type Yielder } from '../util/yielder.js';
